"""PLD's ablation table: test Macro-F1 after each distillation stage, for one task file.

    python scripts/ablation.py signatures/expense_claims.py
    python scripts/ablation.py signatures/stereoset.py
    python scripts/ablation.py signatures/expense_claims.py --optimizer optimizers/contrast.toml

Rows, all with the same student, scaffold and token budget, each batch-calibrated on the same
inputs a compile calibrates the prompt it ships on (`calibration_examples`: dev first, then
training inputs; pldc.calibration):
zero-shot (no rules); raw per-example teacher rules in extraction order, trimmed to the budget;
clustered and synthesized rules, trimmed; the same after closed-loop conflict resolution; and
the full compile, which adds the Optuna search. It runs `compile_task` in a run directory of
its own, then takes the intermediate rule lists from the same stages (`pldc.stages`) in that
run directory, which reuse every stored stage and teacher call, so every row shares one set of
teacher traces. When the task module defines `rules_stated(text)`, the
table also counts the true rules each prompt states; when it defines `true_rules` (a list of
rule texts), a last reference row scores the student with those rules.
Writes docs/ablation-<task>.md and .json; with `--optimizer PRESET`, the preset's settings are
used (flags still override) and the files and run directory carry the preset's name; with
`--seed N`, they also carry `-seedN`.

With `--fresh N`, for a task module with a seeded generator (as the bundled demos have), the rows
are scored on N freshly generated examples instead of the test split, each batch-calibrated on
60 other fresh inputs, exactly as scripts/fresh_eval.py scores artifacts (same seeds, same score
store), and the report ends in `-fresh`. Those examples are neither train, dev nor test, so
compile settings may be chosen on them; the test split stays untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import optuna

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(ROOT / "scripts"))

from demo_ceiling import find_generator, run_prompt  # noqa: E402

from pldc.backends import open_model  # noqa: E402
from pldc.compiler import compile_task  # noqa: E402
from pldc.embed import open_embedder  # noqa: E402
from pldc.evaluate import score_predictions  # noqa: E402
from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER  # noqa: E402
from pldc.presets import load_preset, settings_with  # noqa: E402
from pldc.progress import RichProgress  # noqa: E402
from pldc.records import Rule  # noqa: E402
from pldc.render import render_candidates  # noqa: E402
from pldc.rulepool import raw_rule_pool  # noqa: E402
from pldc.search import fit_to_budget  # noqa: E402
from pldc.stages import (  # noqa: E402
    candidates,
    extraction,
    open_workspace,
    resolution,
    rule_pool,
    verification,
)
from pldc.stats import macro_f1_interval, paired_difference  # noqa: E402
from pldc.store import JsonlStore  # noqa: E402
from pldc.taskfile import load_task_file  # noqa: E402


class Row(NamedTuple):
    system_prompt: str
    rules: int  # candidates in the prompt
    candidates: int  # candidates it was chosen from (0: not recorded)
    tokens: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_file")
    parser.add_argument("--optimizer", type=Path, help="a preset TOML, as for pldc compile")
    parser.add_argument("--budget", type=int)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--run-dir", type=Path, help="reuse this run directory (e.g. a demo_report.py compile's)"
    )
    parser.add_argument(
        "--fresh", type=int, help="score on this many freshly generated examples, not on test"
    )
    parser.add_argument("--fresh-seed", type=int, default=3003, help="as scripts/fresh_eval.py")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # quiet per-trial lines, as pldc compile

    task_path = Path(args.task_file)
    task = load_task_file(task_path)
    module = sys.modules[task.signature.__module__]
    rules_stated = getattr(module, "rules_stated", None)
    true_rules = getattr(module, "true_rules", None)
    flags = {"token_budget": args.budget, "trials": args.trials, "seed": args.seed}
    preset = load_preset(args.optimizer) if args.optimizer else {}
    settings = settings_with(
        {**preset, **{key: value for key, value in flags.items() if value is not None}}
    )
    report_name = task.display_name + (f"-{args.optimizer.stem}" if args.optimizer else "")
    if args.seed is not None:  # another seed is another compile: keep the default's report
        report_name += f"-seed{args.seed}"
    run_dir = args.run_dir or ROOT / ".pldc" / f"ablation-{report_name}"
    progress = RichProgress()
    teacher = open_model(task.teacher or DEFAULT_TEACHER, progress=progress)
    student = open_model(task.student or DEFAULT_STUDENT, progress=progress)
    embedder = open_embedder()

    started = time.perf_counter()
    artifact = compile_task(
        task,
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=run_dir,
        source=str(task_path),
        base_dir=task_path.parent,
        progress=progress,
        embedder=embedder,
    )
    compile_seconds = time.perf_counter() - started
    artifact.save(run_dir / "artifact.json")  # for scripts/search_benchmark.py

    # The compile's own stages, in its run directory: each is read back from the store.
    workspace = open_workspace(
        task,
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=run_dir,
        source=str(task_path),
        base_dir=task_path.parent,
        progress=progress,
        embedder=embedder,
    )
    schema, data = workspace.schema, workspace.data
    traces = extraction.run(workspace)
    clustered = rule_pool.run(workspace, traces)
    resolved = resolution.run(workspace, clustered)
    verified = verification.run(workspace, resolved)
    rounds = resolved.resolution.rounds if resolved.resolution else []
    accepted = [r for r in rounds if r.accepted]
    by_id = {rule.id: rule for rule in resolved.rules}
    count = student.count_tokens

    def trimmed(rules: list[Rule]) -> Row:
        fitted = fit_to_budget(schema, rules, count, settings.token_budget)
        return Row(fitted.system_prompt, len(fitted.rules), len(rules), fitted.tokens)

    def as_rendered(candidates: list[Rule]) -> Row:
        prompt = render_candidates(schema, candidates)
        return Row(prompt, len(candidates), len(candidates), count(prompt))

    candidates_by_id = {rule.id: rule for rule in artifact.provenance.candidate_rules}
    best = next(t for t in artifact.provenance.trials if t.number == artifact.provenance.best_trial)
    demonstrations = [r for r in artifact.provenance.candidate_rules if r.kind == "demonstration"]
    shipped = artifact.prompt.system
    stages: list[tuple[str, Row]] = [
        ("zero-shot (no rules)", trimmed([])),
        ("raw per-example rules, budget-trimmed", trimmed(raw_rule_pool(traces.traces))),
        ("clustered + synthesized rules", trimmed(clustered.rules)),
        (
            "after conflict resolution",
            trimmed(
                [by_id[i] for i in accepted[-1].rule_ids_after] if accepted else resolved.rules
            ),
        ),
    ]
    if verified is not None:
        stages.append(("verified rules (kept by verification)", trimmed(verified.kept)))
    if demonstrations:
        stages.append(("few-shot: the offered demonstrations alone", as_rendered(demonstrations)))
    stages.append(
        ("searched (the best trial)", as_rendered([candidates_by_id[i] for i in best.rule_ids]))
    )
    gate_note = f", gate shipped {artifact.gate.shipped}" if artifact.gate else ""
    stages.append(
        (
            f"full compile as shipped{gate_note}",
            Row(shipped, len(artifact.rules), 0, count(shipped)),
        )
    )
    if true_rules:
        oracle = [
            Rule(id=f"true-{i}", text=text, labels=[], source_example_ids=[], support=0)
            for i, text in enumerate(true_rules, start=1)
        ]
        stages.append(("reference: the task's true rules (not distilled)", trimmed(oracle)))
    evaluator = workspace.evaluator
    labels = schema.labels
    split = "fresh" if args.fresh else "test"
    if args.fresh:
        generate = find_generator(module, None)
        evaluation = generate(n=args.fresh, seed=args.fresh_seed)
        calibration_set = generate(n=60, seed=2002)  # scripts/fresh_eval.py's defaults
        store = JsonlStore(ROOT / ".pldc" / "demo-ceiling" / f"{task.display_name}.jsonl")
        gold = [record[schema.output_field] for record in evaluation]
        pool = calibration_set
    else:
        gold = [example.label for example in data.test]
        pool = candidates.run(workspace, traces, resolved, verified).calibration
    rows, predicted = [], []
    with progress.stage("ablation rows", total=len(stages)) as stage:
        for name, row in stages:
            if args.fresh:
                held_out = run_prompt(
                    student, schema, row.system_prompt, calibration_set, evaluation, store
                )[0]
                dev_macro_f1 = None
            else:
                prompt = row.system_prompt
                _, calibration = evaluator.predictions(settings.calibration, prompt, pool)
                dev_predicted = evaluator.decided(prompt, data.dev, calibration)
                held_out = evaluator.decided(prompt, data.test, calibration)
                dev_macro_f1 = score_predictions(
                    [example.label for example in data.dev], dev_predicted, labels
                ).macro_f1
            predicted.append(held_out)
            score = macro_f1_interval(gold, held_out, labels)
            versus_zero = paired_difference(gold, held_out, predicted[0], labels)
            rows.append(
                {
                    "stage": name,
                    "rules": row.rules,
                    "candidates": row.candidates,
                    "tokens": row.tokens,
                    "dev_macro_f1": dev_macro_f1,
                    "held_out_n": len(gold),
                    f"{split}_macro_f1": score.estimate,
                    f"{split}_ci95": [score.low, score.high],
                    f"{split}_minus_zero_shot": versus_zero.estimate,
                    f"{split}_minus_zero_shot_ci95": [versus_zero.low, versus_zero.high],
                    f"{split}_accuracy": score_predictions(gold, held_out, labels).accuracy,
                    "true_rules_stated": (
                        rules_stated(row.system_prompt) if rules_stated else None
                    ),
                }
            )
            stage.advance()
    if true_rules:
        reference_gain = rows[-1][f"{split}_minus_zero_shot"]
        for row in rows:
            row["share_of_true_rules_gain"] = (
                row[f"{split}_minus_zero_shot"] / reference_gain if reference_gain > 0 else None
            )
    command = f"python scripts/ablation.py {task_path.as_posix()}"
    if args.optimizer:
        command += f" --optimizer {args.optimizer.as_posix()}"
    for flag, value in flags.items():
        if value is not None:
            command += f" --{flag.removeprefix('token_')} {value}"
    if args.fresh:
        command += f" --fresh {args.fresh}"
        if args.fresh_seed != 3003:
            command += f" --fresh-seed {args.fresh_seed}"
            report_name += f"-freshseed{args.fresh_seed}"
        report_name += "-fresh"
    report = render(report_name, artifact, rows, data, len(pool), compile_seconds, command, split)
    out = ROOT / "docs" / f"ablation-{report_name}"
    out.parent.mkdir(exist_ok=True)
    out.with_suffix(".md").write_text(report)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    print(report)


def render(
    name, artifact, rows, data, calibration_inputs, compile_seconds, command, split="test"
) -> str:
    stated = rows[0]["true_rules_stated"] is not None
    lines = [
        f"# Ablation: {name}",
        "",
        f"Generated by `{command}` on 2 CPU cores (the compile step took "
        f"{compile_seconds / 60:.1f} min in this run, reusing any work stored in its run "
        f"directory). Teacher {artifact.teacher.name}, student {artifact.student.name}, budget "
        f"{artifact.token_budget} tokens, seed {artifact.seed}; splits train {len(data.train)}, "
        f"dev {len(data.dev)}, test {len(data.test)}. "
        + (
            f"Every row is batch-calibrated on the same {calibration_inputs} other freshly "
            "generated inputs and scored on "
            f"{rows[0]['held_out_n']} freshly generated examples, not on the test split "
            "(the seeds of scripts/fresh_eval.py); intervals are 95% bootstrap intervals over "
            "those examples, "
            if split == "fresh"
            else (
                f"Every row is batch-calibrated on the same {calibration_inputs} inputs, dev "
                "first, then training inputs, as a compile calibrates the prompt it ships "
                "(`calibration_examples`), and "
                if calibration_inputs
                else 'No row is calibrated (`calibration = "none"`). Every row is '
            )
            + "scored on the test split; intervals are 95% bootstrap intervals over the test "
            "examples, "
        )
        + "paired with zero-shot for the difference (pldc.stats). Share of the true "
        "rules' gain: the row's gain over zero-shot divided by the true rules' gain.",
        "",
        "| stage | in prompt (of candidates) | tokens | dev Macro-F1 | "
        f"{split} Macro-F1 [95% CI] | {split} − zero-shot [95% CI] | "
        f"share of true rules' gain | {split} accuracy |"
        + (" true rules stated |" if stated else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if stated else ""),
    ]
    for row in rows:
        low, high = row[f"{split}_ci95"]
        d_low, d_high = row[f"{split}_minus_zero_shot_ci95"]
        dev = "—" if row["dev_macro_f1"] is None else f"{row['dev_macro_f1']:.3f}"
        share = row.get("share_of_true_rules_gain")
        lines.append(
            f"| {row['stage']} | {row['rules']}"
            + (f" ({row['candidates']})" if row["candidates"] else "")
            + f" | {row['tokens']} | {dev} | "
            f"{row[f'{split}_macro_f1']:.3f} [{low:.3f}, {high:.3f}] | "
            f"{row[f'{split}_minus_zero_shot']:+.3f} [{d_low:+.3f}, {d_high:+.3f}] | "
            + (f"{share:.0%}" if share is not None else "—")
            + f" | {row[f'{split}_accuracy']:.3f} |"
            + (
                f" {len(row['true_rules_stated'])} ({', '.join(row['true_rules_stated']) or '—'}) |"
                if stated
                else ""
            )
        )
    if artifact.gate is not None:
        lines += ["", f"Gate: {artifact.gate.reason}"]
    resolution = artifact.provenance.resolution
    if resolution is not None:
        lines += ["", f"Conflict resolution stopped because {resolution.stopped_because}."]
        for round_ in resolution.rounds:
            applied = sum(r.skipped_reason is None for r in round_.revisions)
            lines.append(
                f"- round {round_.round}: the student got {round_.train_failures} of "
                f"{round_.train_examples} training examples wrong; {applied} of "
                f"{len(round_.revisions)} edits applied; dev Macro-F1 "
                f"{round_.dev_macro_f1_before:.3f} → {round_.dev_macro_f1_after:.3f} "
                f"({'kept' if round_.accepted else 'undone'})"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
