"""`pldc compile`, `pldc eval`, `pldc check`, `pldc show`, `pldc pick`, `pldc report`,
`pldc serve` and `pldc doctor`."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import optuna
from rich.console import Console
from rich.text import Text

from pldc import __version__
from pldc._litellm import keep_litellm_offline
from pldc.artifact import load_artifact
from pldc.backends import Backend, open_model, open_recorded_model
from pldc.cli_artifact import add_artifact_commands
from pldc.cli_models import add_served_model_flags, dry_run, served_options
from pldc.compiler import DEFAULT_RUN_ROOT, compile_task
from pldc.data import load_task_and_data, load_task_data
from pldc.errors import (
    DataError,
    DataWarning,
    PLDError,
    PLDWarning,
    SettingsError,
)
from pldc.evaluate import StudentEvaluator
from pldc.lock import compile_lock
from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER
from pldc.preflight import check_before_models, check_served_model, fit_to_student
from pldc.presets import load_preset, settings_with
from pldc.progress import RichProgress
from pldc.report import print_scores, print_summary
from pldc.settings import DeclaredSetting, declared_settings
from pldc.task import Task
from pldc.taskfile import load_task_file

console = Console()


def main(argv: Sequence[str] | None = None) -> int:
    keep_litellm_offline()
    args = _parser().parse_args(argv)
    # Rich progress reports the search; Optuna's per-trial log lines would break its display.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(warnings.showwarning)
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


def _warning_printer(show_other: Callable[..., None]) -> Callable[..., None]:
    """A `warnings.showwarning` that prints pldc's warnings as one `warning:` line each."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if not issubclass(category, PLDWarning):
            show_other(message, category, filename, lineno, file, line)
            return
        text = Text("warning: ", style="bold yellow") + Text(str(message))
        Console(stderr=True, soft_wrap=True).print(text, highlight=False)

    return show


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pldc",
        description="Prompt-Level Distillation: compile a task's decision rules into a small "
        "student's prompt, then evaluate, inspect and pick compiled prompts.",
    )
    parser.add_argument("--version", action="version", version=f"pldc {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    compile_ = commands.add_parser("compile", help="compile a task file into a prompt artifact")
    compile_.add_argument("task_file", metavar="TASK.py")
    compile_.add_argument("--teacher", help=f"teacher model (default: {DEFAULT_TEACHER})")
    compile_.add_argument("--student", help=f"student model (default: {DEFAULT_STUDENT})")
    add_served_model_flags(compile_)
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
    compile_.add_argument(
        "--dry-run",
        action="store_true",
        help="print each stage's teacher and student calls and tokens (and, for a hosted "
        "model, the price), then exit without calling any model",
    )
    compile_.add_argument("-o", "--output", help="artifact path (default: compiled/<task>.json)")
    compile_.add_argument("--run-dir", help="where resumable work is kept (default: .pldc/<task>)")
    compile_.set_defaults(run=_compile)

    _add_scoring_commands(commands)
    add_artifact_commands(commands)
    return parser


def _add_scoring_commands(commands) -> None:
    """`pldc eval` and `pldc check`: an artifact rescored on a task's data."""
    eval_ = commands.add_parser("eval", help="score an artifact on a split of a task's data")
    eval_.add_argument("artifact", metavar="ARTIFACT")
    eval_.add_argument("task_file", metavar="TASK.py")
    eval_.add_argument("--split", choices=("train", "dev", "test"), default="test")
    eval_.add_argument(
        "--other-data",
        action="store_true",
        help="score data other than the artifact was compiled on (refused without it: its "
        "split may hold examples the compile learned from)",
    )
    eval_.add_argument("--json", action="store_true", help="print the scores as JSON")
    eval_.set_defaults(run=_eval)

    check = commands.add_parser(
        "check",
        help="rescore an artifact and fail (exit 1) below a Macro-F1 floor or past a drop from "
        "its recorded score: a drift gate for an app's CI",
    )
    check.add_argument("artifact", metavar="ARTIFACT")
    check.add_argument("task_file", metavar="TASK.py")
    check.add_argument("--split", choices=("dev", "test"), default="test")
    check.add_argument(
        "--min-macro-f1", type=float, metavar="X", help="fail below this Macro-F1 (0 to 1)"
    )
    check.add_argument(
        "--max-drop",
        type=float,
        metavar="D",
        help="fail if Macro-F1 is more than D below the score the artifact recorded",
    )
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(run=_check)


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


def _open_role(role: str, name: str, args: argparse.Namespace, progress) -> Backend:
    api_base, tokenizer = served_options(role, args)
    return open_model(
        name,
        api_base=api_base,
        tokenizer=tokenizer,
        concurrency=args.concurrency,
        progress=progress,
    )


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
    source = str(task_path)
    task = load_task_file(task_path)
    # Every check that needs no model runs before one loads (pldc.preflight gives the order).
    data = load_task_data(task, source, task_path.parent)
    output = Path(args.output or Path("compiled") / f"{task.display_name}.json")
    run_dir = Path(args.run_dir) if args.run_dir else DEFAULT_RUN_ROOT / task.display_name
    named_student, student_name = _model_choice("student", args, task, DEFAULT_STUDENT, source)
    named_teacher, teacher_name = _model_choice("teacher", args, task, DEFAULT_TEACHER, source)
    models = {named_student: student_name, named_teacher: teacher_name}
    for role, name in (("student", student_name), ("teacher", teacher_name)):
        check_served_model(role, name, *served_options(role, args))
    check_before_models(output=output, run_dir=run_dir, storage=args.storage, models=models)
    if args.dry_run:
        return dry_run(args, task, data, settings, student_name, teacher_name)
    with compile_lock(run_dir, args.storage, create=False):
        pass  # refused now, before the models load, if another compile runs; compile_task locks
    progress = RichProgress()
    student = _open_role("student", student_name, args, progress)
    # What needs the student's tokenizer, before the teacher loads.
    data = fit_to_student(task, data, student, settings.token_budget, source)
    teacher = _open_role("teacher", teacher_name, args, progress)
    artifact = compile_task(
        task,
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=run_dir,
        source=source,
        base_dir=task_path.parent,
        progress=progress,
        storage=args.storage,
        data=data,
    )
    artifact.save(output)
    print_summary(console, artifact)
    console.print(
        f"wrote [bold]{output}[/] in {time.perf_counter() - started:.0f} s "
        f"(content hash {artifact.content_hash[:12]})"
    )
    return 0


def _model_choice(
    role: str, args: argparse.Namespace, task: Task, default: str, source: str
) -> tuple[str, str]:
    """Where the `role` model's name comes from (the flag, else the task file, else the
    default), and the name."""
    if getattr(args, role):
        return f"--{role}", getattr(args, role)
    if getattr(task, role):
        return f"{source}: Task({role}=...)", getattr(task, role)
    return f"--{role}", default


def _eval(args: argparse.Namespace) -> int:
    artifact, scores = _rescored(args)
    if args.json:
        print(json.dumps({"artifact": _identity(artifact, args), **scores.model_dump()}))
    else:
        print_scores(console, f"{artifact.task.name}: {args.split} split", scores)
    return 0


def _check(args: argparse.Namespace) -> int:
    for name in ("min_macro_f1", "max_drop"):
        value = getattr(args, name)
        if value is not None and not 0.0 <= value <= 1.0:
            flag = "--" + name.replace("_", "-")
            raise SettingsError(f"{flag} {value}: give a Macro-F1 amount from 0 to 1.", flag)
    args.other_data = False  # a drift gate never scores other data
    artifact, scores = _rescored(args)
    recorded = artifact.scores.test if args.split == "test" else artifact.scores.dev
    drop = recorded.macro_f1 - scores.macro_f1
    failures = []
    if args.min_macro_f1 is not None and scores.macro_f1 < args.min_macro_f1:
        failures.append(
            f"Macro-F1 {scores.macro_f1:.3f} is below --min-macro-f1 {args.min_macro_f1}"
        )
    if args.max_drop is not None and drop > args.max_drop:
        failures.append(
            f"Macro-F1 {scores.macro_f1:.3f} is {drop:.3f} below the recorded "
            f"{recorded.macro_f1:.3f}, more than --max-drop {args.max_drop}"
        )
    interval = scores.macro_f1_interval
    result = {
        "artifact": _identity(artifact, args),
        "split": args.split,
        "n": scores.n,
        "macro_f1": scores.macro_f1,
        "macro_f1_interval": [interval.low, interval.high] if interval else None,
        "recorded_macro_f1": recorded.macro_f1,
        "drop": drop,
        "min_macro_f1": args.min_macro_f1,
        "max_drop": args.max_drop,
        "passed": not failures,
        "failures": failures,
    }
    if args.json:
        print(json.dumps(result))
    else:
        verdict = "[bold red]FAIL[/]" if failures else "[green]pass[/]"
        console.print(
            f"{verdict} {artifact.task.name} {args.split}: Macro-F1 {scores.macro_f1:.3f}"
            + (f" [{interval.low:.3f}, {interval.high:.3f}]" if interval else "")
            + f", recorded {recorded.macro_f1:.3f} (drop {drop:+.3f}), n={scores.n}",
            highlight=False,
        )
        for failure in failures:
            console.print(f"  {failure}", highlight=False)
    return 1 if failures else 0


def _identity(artifact, args: argparse.Namespace) -> dict:
    return {"path": str(args.artifact), "task": artifact.task.name, "hash": artifact.content_hash}


def _rescored(args: argparse.Namespace):
    """The artifact, and its scores on `args.split` of the task's data, rescored with the
    recorded student. Raises `DataError` for other labels or (without --other-data) other
    data than the artifact was compiled on, before the student loads."""
    artifact = load_artifact(args.artifact)
    task_path = Path(args.task_file)
    task, data = load_task_and_data(task_path)
    schema = task.schema
    if list(schema.labels) != artifact.prompt.labels:
        raise DataError(
            f"{task_path}: labels {list(schema.labels)} differ from the artifact's "
            f"{artifact.prompt.labels}; evaluate the artifact against the task it was compiled for."
        )
    _check_fingerprint(artifact, data, task_path, args)
    progress = RichProgress()
    student = open_recorded_model(artifact.student)
    data = fit_to_student(
        task,
        data,
        student,
        artifact.token_count,
        str(task_path),
        user_template=artifact.prompt.user_template,
    )
    examples = data.split(args.split)
    evaluator = StudentEvaluator(student, schema, artifact.prompt.user_template)
    with progress.stage(f"eval {args.split}", total=len(examples)) as stage:
        scores = evaluator.evaluate(
            artifact.prompt.system, examples, artifact.calibration, stage, interval=True
        )
    return artifact, scores


def _check_fingerprint(artifact, data, task_path: Path, args: argparse.Namespace) -> None:
    """Refuse data or a split other than the compile's (issue 20 D13): its split may hold
    examples the compile learned from or chose on. `--other-data` turns it into a warning."""
    recorded, found = artifact.task.data_fingerprint, data.fingerprint
    if found == recorded:
        return
    what = (
        f"{task_path}: the data or its split differs from what {args.artifact} was compiled on "
        f"(fingerprint {found[:12]}, recorded {recorded[:12]})"
    )
    if args.other_data:
        warnings.warn(
            f"{what}; scoring it anyway (--other-data): the scores are not the artifact's "
            "held-out ones.",
            DataWarning,
            stacklevel=2,
        )
        return
    raise DataError(
        f"{what}, so its {args.split} split may hold examples the compile learned from or chose "
        "on. Evaluate on the data the artifact was compiled on, recompile, or pass --other-data "
        "to score this data anyway."
    )


if __name__ == "__main__":
    sys.exit(main())
