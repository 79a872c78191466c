"""`pldc compile`, `pldc eval`, `pldc show`, `pldc pick` and `pldc doctor`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import optuna
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pldc._litellm import keep_litellm_offline
from pldc.artifact import load_artifact
from pldc.backends import open_model, open_recorded_model
from pldc.compiler import compile_task
from pldc.data import load_task_and_data
from pldc.errors import DataError, ModelError, PLDError
from pldc.evaluate import StudentEvaluator
from pldc.models import CATALOGUE, DEFAULT_STUDENT, DEFAULT_TEACHER
from pldc.presets import load_preset, settings_with
from pldc.progress import RichProgress
from pldc.records import CompiledPrompt, Scores
from pldc.settings import DeclaredSetting, declared_settings
from pldc.taskfile import load_task_file

console = Console()


def main(argv: Sequence[str] | None = None) -> int:
    keep_litellm_offline()
    args = _parser().parse_args(argv)
    # Rich progress reports the search; Optuna's per-trial log lines would break its display.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        return args.run(args)
    except PLDError as exc:
        message = Text("error: ", style="bold red") + Text(str(exc))
        Console(stderr=True, soft_wrap=True).print(message, highlight=False)
        return 2
    except KeyboardInterrupt:
        Console(stderr=True).print(
            "[yellow]interrupted[/]: finished work is saved; rerun the same command to resume."
        )
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pldc", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    compile_ = commands.add_parser("compile", help="compile a task file into a prompt artifact")
    compile_.add_argument("task_file", metavar="TASK.py")
    compile_.add_argument("--teacher", help=f"teacher model (default: {DEFAULT_TEACHER})")
    compile_.add_argument("--student", help=f"student model (default: {DEFAULT_STUDENT})")
    compile_.add_argument("--teacher-api-base", help="api_base for a remote teacher (e.g. vLLM)")
    compile_.add_argument("--student-api-base", help="api_base for a remote student")
    compile_.add_argument(
        "--optimizer",
        metavar="PRESET.toml",
        help="a search preset, e.g. optimizers/quick.toml; flags given here override it",
    )
    _add_setting_flags(compile_)
    compile_.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage URL for the search study, shared by workers on any machine, e.g. "
        "postgresql://user@host/db (default: SQLite in the run directory)",
    )
    compile_.add_argument("-o", "--output", help="artifact path (default: compiled/<task>.json)")
    compile_.add_argument("--run-dir", help="where resumable work is kept (default: .pldc/<task>)")
    compile_.set_defaults(run=_compile)

    eval_ = commands.add_parser("eval", help="score an artifact on a split of a task's data")
    eval_.add_argument("artifact", metavar="ARTIFACT")
    eval_.add_argument("task_file", metavar="TASK.py")
    eval_.add_argument("--split", choices=("train", "dev", "test"), default="test")
    eval_.set_defaults(run=_eval)

    show = commands.add_parser("show", help="print an artifact's rules, scores and budget use")
    show.add_argument("artifact", metavar="ARTIFACT")
    show.set_defaults(run=_show)

    pick = commands.add_parser(
        "pick", help="choose a Pareto artifact's best prompt for a token budget, without search"
    )
    pick.add_argument("artifact", metavar="ARTIFACT")
    pick.add_argument("--budget", type=int, required=True, metavar="N")
    pick.add_argument("-o", "--output", required=True, help="where to write the chosen artifact")
    pick.set_defaults(run=_pick)

    doctor = commands.add_parser(
        "doctor", help="check that the local models load and decode on this machine"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument(
        "--model", action="append", metavar="NAME", help="check only this catalogue model"
    )
    doctor.set_defaults(run=_doctor)
    return parser


def _add_setting_flags(compile_: argparse.ArgumentParser) -> None:
    """A flag for each compile setting that declares one; unset flags stay None."""
    for declared in _flagged_settings():
        if declared.type is bool:
            compile_.add_argument(
                declared.flag,
                dest=declared.name,
                action="store_true",
                default=None,
                help=declared.help,
            )
        else:
            compile_.add_argument(
                declared.flag,
                dest=declared.name,
                type=declared.type,
                default=None,
                metavar="N",
                help=f"{declared.help} (default: {declared.default})",
            )


def _flagged_settings() -> list[DeclaredSetting]:
    """The compile settings that have a command-line flag (pldc.settings declares which)."""
    return [declared for declared in declared_settings() if declared.flag is not None]


def _compile(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    preset = load_preset(args.optimizer) if args.optimizer else {}
    flagged = _flagged_settings()
    given = {d.name: getattr(args, d.name) for d in flagged if getattr(args, d.name) is not None}
    settings_with(preset, source=args.optimizer or "defaults")
    settings = settings_with(
        {**preset, **given},
        source="the command line",
        flags={d.name: d.flag for d in flagged if d.name in given},
    )
    task_path = Path(args.task_file)
    task = load_task_file(task_path)
    progress = RichProgress()
    teacher_name = args.teacher or task.teacher or DEFAULT_TEACHER
    student_name = args.student or task.student or DEFAULT_STUDENT
    teacher = open_model(teacher_name, api_base=args.teacher_api_base, progress=progress)
    student = open_model(student_name, api_base=args.student_api_base, progress=progress)
    artifact = compile_task(
        task,
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=Path(args.run_dir) if args.run_dir else None,
        source=str(task_path),
        base_dir=task_path.parent,
        progress=progress,
        storage=args.storage,
    )
    output = Path(args.output or Path("compiled") / f"{task.display_name}.json")
    artifact.save(output)
    _print_summary(artifact)
    console.print(
        f"wrote [bold]{output}[/] in {time.perf_counter() - started:.0f} s "
        f"(content hash {artifact.content_hash[:12]})"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    artifact = load_artifact(args.artifact)
    task_path = Path(args.task_file)
    task, data = load_task_and_data(task_path)
    schema = task.schema
    if list(schema.labels) != artifact.prompt.labels:
        raise DataError(
            f"{task_path}: labels {list(schema.labels)} differ from the artifact's "
            f"{artifact.prompt.labels}; evaluate the artifact against the task it was compiled for."
        )
    examples = data.split(args.split)
    progress = RichProgress()
    student = open_recorded_model(artifact.student)
    evaluator = StudentEvaluator(student, schema, artifact.prompt.user_template)
    with progress.stage(f"eval {args.split}", total=len(examples)) as stage:
        scores = evaluator.evaluate(artifact.prompt.system, examples, artifact.calibration, stage)
    _print_scores(f"{artifact.task.name}: {args.split} split", scores)
    return 0


def _show(args: argparse.Namespace) -> int:
    artifact = load_artifact(args.artifact)
    console.print(
        f"[bold]{artifact.task.name}[/] ({artifact.task.signature}), "
        f"labels: {', '.join(artifact.prompt.labels)}"
    )
    console.print(f"teacher: {_model_line(artifact.teacher)}")
    console.print(f"student: {_model_line(artifact.student)}")
    console.print(
        f"system prompt: {artifact.token_count} / {artifact.token_budget} tokens "
        f"({artifact.token_count / artifact.token_budget:.0%} of budget, "
        f"tokenizer {artifact.student.tokenizer})"
    )
    rules = Table(title="rules in the prompt, in order", show_lines=False)
    rules.add_column("#", justify="right")
    rules.add_column("rule")
    rules.add_column("labels")
    rules.add_column("support", justify="right")
    rules.add_column("fate")
    rules.add_column("source examples")
    measured = any(rule.leave_one_out_delta is not None for rule in artifact.rules)
    if measured:
        rules.add_column("dev F1 without it", justify="right")
    for number, rule in enumerate(artifact.rules, start=1):
        note = f" [names case details: {', '.join(rule.copied_specifics)}]"
        rules.add_row(
            str(number),
            Text(rule.text + (note if rule.copied_specifics else "")),
            ", ".join(rule.labels),
            str(rule.support),
            rule.fate,
            ", ".join(rule.source_example_ids),
            *([_loss_cell(rule.leave_one_out_delta)] if measured else []),
        )
    console.print(rules)
    provenance = artifact.provenance
    dropped = len(provenance.candidate_rules) - len(artifact.rules)
    console.print(
        f"{len(artifact.rules)} of {len(provenance.candidate_rules)} candidate rules kept "
        f"({dropped} left out by the search); best of {len(provenance.trials)} trials "
        f"(trial {provenance.best_trial}, {provenance.sampler}); seed {artifact.seed}"
    )
    _print_resolution(artifact)
    _print_front(artifact)
    _print_summary(artifact)
    return 0


def _pick(args: argparse.Namespace) -> int:
    artifact = load_artifact(args.artifact).at_budget(args.budget)
    output = artifact.save(args.output)
    console.print(
        f"picked trial {artifact.provenance.best_trial}: {len(artifact.rules)} rules, "
        f"{artifact.token_count} / {args.budget} tokens, dev Macro-F1 "
        f"{artifact.scores.dev.macro_f1:.3f}, test {artifact.scores.test.macro_f1:.3f}"
    )
    console.print(f"wrote [bold]{output}[/] (content hash {artifact.content_hash[:12]})")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from pldc.doctor import examine

    unknown = sorted(set(args.model or ()) - set(CATALOGUE))
    if unknown:
        raise ModelError(f"unknown model {unknown[0]!r}; choose from: {', '.join(CATALOGUE)}")
    report = examine(args.model)
    if args.json:
        print(report.to_json())
        return 0 if report.ok else 1
    for name, value in report.facts.items():
        console.print(f"  {name:<17} {value}", highlight=False, soft_wrap=True)
    for check in report.checks:
        mark = "[green]ok  [/]" if check.ok else "[bold red]FAIL[/]"
        console.print(f"{mark} {check.name}: {check.detail}", highlight=False, soft_wrap=True)
        if check.fix:
            console.print(f"     fix: {check.fix}", highlight=False, soft_wrap=True)
    console.print("all checks passed" if report.ok else "[bold red]some checks failed[/]")
    return 0 if report.ok else 1


def _print_front(artifact: CompiledPrompt) -> None:
    if not artifact.pareto_front:
        return
    table = Table(title="Pareto front: dev Macro-F1 against prompt tokens (pldc pick --budget N)")
    for column in ("tokens", "dev", "test", "trial", "rules"):
        table.add_column(column, justify="right" if column != "rules" else "left")
    for point in artifact.pareto_front:
        chosen = " (in this artifact)" if point.system_prompt == artifact.prompt.system else ""
        table.add_row(
            str(point.tokens),
            f"{point.dev.macro_f1:.3f}",
            f"{point.test.macro_f1:.3f}",
            str(point.trial),
            (", ".join(point.rule_ids) or "(none)") + chosen,
        )
    console.print(table)


def _loss_cell(delta: float | None) -> str:
    return "—" if delta is None else f"{-delta:+.3f}"


def _print_resolution(artifact: CompiledPrompt) -> None:
    record = artifact.provenance.resolution
    if record is None:
        console.print("conflict resolution: off")
        return
    table = Table(title="conflict resolution: every edit, and the failure that caused it")
    for column in ("round", "edit", "rule", "before", "after", "caused by", "outcome"):
        table.add_column(column)
    for round_ in record.rounds:
        verdict = "kept" if round_.accepted else "undone"
        for revision in round_.revisions:
            table.add_row(
                str(round_.round),
                revision.action or "—",
                revision.rule_id or "",
                Text(revision.before or ""),
                Text(
                    "\n".join(
                        f"{rule_id}: {text}"
                        for rule_id, text in zip(
                            revision.new_rule_ids, revision.after, strict=False
                        )
                    )
                    or ("(removed)" if revision.action == "remove" else "")
                ),
                f"{revision.example_id} (gold {revision.gold}, said {revision.predicted})",
                revision.skipped_reason or verdict,
            )
    console.print(table)
    for round_ in record.rounds:
        console.print(
            f"round {round_.round}: {round_.train_failures} of {round_.train_examples} training "
            f"examples wrong; dev Macro-F1 {round_.dev_macro_f1_before:.3f} → "
            f"{round_.dev_macro_f1_after:.3f}, {'kept' if round_.accepted else 'undone'}"
        )
    console.print(f"resolution stopped: {record.stopped_because}")


def _model_line(identity) -> str:
    digest = f", sha256 {identity.sha256[:12]}…" if identity.sha256 else ""
    return f"{identity.name} ({identity.kind}, {identity.decoding}{digest})"


def _print_summary(artifact: CompiledPrompt) -> None:
    table = Table(title=f"{artifact.task.name}: Macro-F1")
    table.add_column("prompt")
    table.add_column("dev", justify="right")
    table.add_column("test", justify="right")
    table.add_column("tokens", justify="right")
    scores = artifact.scores
    table.add_row(
        "student, no rules",
        f"{scores.baseline_dev.macro_f1:.3f}",
        f"{scores.baseline_test.macro_f1:.3f}",
        str(artifact.baseline_token_count),
    )
    table.add_row(
        f"student + {len(artifact.rules)} rules",
        f"{scores.dev.macro_f1:.3f}",
        f"{scores.test.macro_f1:.3f}",
        str(artifact.token_count),
    )
    console.print(table)
    _print_scores("compiled prompt on the test split", scores.test)


def _print_scores(title: str, scores: Scores) -> None:
    table = Table(
        title=f"{title}: Macro-F1 {scores.macro_f1:.3f}, accuracy "
        f"{scores.accuracy:.3f}, n={scores.n}"
    )
    table.add_column("gold \\ predicted")
    for label in scores.labels:
        table.add_column(label, justify="right")
    table.add_column("F1", justify="right")
    for label, row in zip(scores.labels, scores.confusion, strict=True):
        table.add_row(label, *map(str, row), f"{scores.per_class_f1[label]:.3f}")
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
