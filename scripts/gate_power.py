"""How often the final gate can tell a better prompt from the baseline, on selection data only.

    python scripts/gate_power.py signatures/legal_intake.py --run-dir .pldc/demo-report-legal_intake

The gate (`pldc.gate`) compares two prompts on the compile's selection examples (dev, then
unused training examples) with a paired bootstrap. This script asks which per-example statistic
gives it the power to see a real gain without passing a prompt that does not help. It reads a
finished compile's run directory (every stage and most student scores are stored) and scores,
on the selection examples only (never test), with the batch calibration the search uses:

- prompts known to help: the task's true rules (`true_rules`, when the task module defines it);
- prompts known not to help: the true rules with their answers rotated to another label
  (misleading), and the expense-claims task's true rules (off-topic);
- the compile's own: few-shot and the search's best trial.

Each is compared with zero-shot by (a) Macro-F1 and (b) the mean calibrated gold-label
log-probability (`pldc.calibration.gold_log_probability`), both with paired 95% bootstrap
intervals (`pldc.stats`). Writes docs/gate-power-<task>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from pldc.artifact import load_artifact  # noqa: E402
from pldc.backends import open_model  # noqa: E402
from pldc.calibration import decide, fit_calibration, gold_log_probability  # noqa: E402
from pldc.embed import open_embedder  # noqa: E402
from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER  # noqa: E402
from pldc.presets import load_preset, settings_with  # noqa: E402
from pldc.progress import RichProgress  # noqa: E402
from pldc.records import Rule  # noqa: E402
from pldc.render import render_candidates  # noqa: E402
from pldc.search import fit_to_budget  # noqa: E402
from pldc.stages import (  # noqa: E402
    candidates,
    extraction,
    open_workspace,
    resolution,
    rule_pool,
    verification,
)
from pldc.stats import paired_difference, paired_mean_difference  # noqa: E402
from pldc.taskfile import load_task_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_file")
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--optimizer", type=Path, help="the preset the run directory used")
    parser.add_argument(
        "--artifact", type=Path, help="the compile's artifact (default: RUN_DIR/artifact.json)"
    )
    args = parser.parse_args()

    task_path = Path(args.task_file)
    task = load_task_file(task_path)
    module = sys.modules[task.signature.__module__]
    true_rules = getattr(module, "true_rules", None)
    if not true_rules:
        raise SystemExit(f"{task_path} defines no true_rules; the gate's power needs them")
    off_topic = load_task_file(ROOT / "signatures" / "expense_claims.py")
    off_topic_rules = sys.modules[off_topic.signature.__module__].true_rules
    settings = settings_with(load_preset(args.optimizer) if args.optimizer else {})
    progress = RichProgress()
    workspace = open_workspace(
        task,
        teacher=open_model(task.teacher or DEFAULT_TEACHER, progress=progress),
        student=open_model(task.student or DEFAULT_STUDENT, progress=progress),
        settings=settings,
        run_dir=args.run_dir,
        source=str(task_path),
        base_dir=task_path.parent,
        progress=progress,
        embedder=open_embedder(),
    )
    schema = workspace.schema
    traces = extraction.run(workspace)
    pool = resolution.run(workspace, rule_pool.run(workspace, traces))
    offered = candidates.run(workspace, traces, pool, verification.run(workspace, pool))
    selection = offered.selection
    artifact = load_artifact(args.artifact or args.run_dir / "artifact.json")
    by_id = {rule.id: rule for rule in artifact.provenance.candidate_rules}
    best = next(t for t in artifact.provenance.trials if t.number == artifact.provenance.best_trial)

    def rules(texts: list[str], prefix: str) -> list[Rule]:
        return [
            Rule(id=f"{prefix}-{i}", text=t, labels=[], source_example_ids=[], support=0)
            for i, t in enumerate(texts, start=1)
        ]

    def trimmed(rule_list: list[Rule]) -> str:
        count = workspace.student.count_tokens
        return fit_to_budget(schema, rule_list, count, settings.token_budget).system_prompt

    preset_name = args.optimizer.stem if args.optimizer else "default"
    prompts = {
        "zero-shot": trimmed([]),
        "true rules (helps)": trimmed(rules(true_rules, "true")),
        "true rules, answers rotated (misleads)": trimmed(
            rules([_rotate(text, schema.labels) for text in true_rules], "rotated")
        ),
        "another task's true rules (off-topic)": trimmed(rules(off_topic_rules, "other")),
        "few-shot (the offered demonstrations)": render_candidates(schema, offered.demonstrations)
        if offered.demonstrations
        else None,
        f"the search's best trial ({preset_name})": render_candidates(
            schema, [by_id[i] for i in best.rule_ids]
        ),
    }
    gold = [example.label for example in selection]
    labels = schema.labels
    evaluator = workspace.evaluator
    per_prompt = {}
    with progress.stage("gate power", total=len(prompts) * len(selection)) as stage:
        for name, prompt in prompts.items():
            if prompt is None:
                continue
            label_rows = evaluator.label_scores(prompt, selection, stage)
            calibration = fit_calibration(settings.calibration, label_rows, labels)
            per_prompt[name] = (
                [decide(row, labels, calibration) for row in label_rows],
                [
                    gold_log_probability(row, g, labels, calibration)
                    for row, g in zip(label_rows, gold, strict=True)
                ],
            )
    base_predicted, base_log_probs = per_prompt["zero-shot"]
    rows = []
    for name, (predicted, log_probs) in per_prompt.items():
        if name == "zero-shot":
            continue
        f1 = paired_difference(gold, predicted, base_predicted, labels, seed=settings.seed)
        lp = paired_mean_difference(log_probs, base_log_probs, seed=settings.seed)
        rows.append(
            {
                "prompt": name,
                "macro_f1_minus_zero_shot": [f1.estimate, f1.low, f1.high],
                "gold_log_prob_minus_zero_shot": [lp.estimate, lp.low, lp.high],
                "passes_macro_f1_gate": f1.low > 0,
                "passes_log_prob_gate": lp.low > 0 and f1.estimate >= 0,
            }
        )
    command = f"python scripts/gate_power.py {task_path.as_posix()} --run-dir {args.run_dir}"
    for flag in ("optimizer", "artifact"):
        if getattr(args, flag):
            command += f" --{flag} {getattr(args, flag).as_posix()}"
    suffix = f"-{args.optimizer.stem}" if args.optimizer else ""
    report = _render(task.display_name, len(selection), len(schema.labels), rows, command)
    out = ROOT / "docs" / f"gate-power-{task.display_name}{suffix}"
    out.with_suffix(".md").write_text(report)
    out.with_suffix(".json").write_text(
        json.dumps({"selection_examples": len(selection), "rows": rows}, indent=2) + "\n"
    )
    print(report)


def _rotate(text: str, labels: list[str]) -> str:
    """The rule with each label it names replaced by the next label in declaration order."""
    pattern = re.compile("|".join(re.escape(label) for label in sorted(labels, key=len)[::-1]))
    return pattern.sub(lambda m: labels[(labels.index(m.group(0)) + 1) % len(labels)], text)


def _render(name: str, n: int, k: int, rows: list[dict], command: str) -> str:
    def cell(values: list[float]) -> str:
        return f"{values[0]:+.3f} [{values[1]:+.3f}, {values[2]:+.3f}]"

    lines = [
        f"# Gate power: {name}",
        "",
        f"Generated by `{command}`. Every prompt is scored on the compile's {n} selection "
        f"examples ({k} labels; dev, then unused training examples; no test example), batch-"
        "calibrated on their inputs as the search does, and compared with zero-shot by a "
        "paired bootstrap (2000 resamples, 95%).",
        "",
        "| prompt | Macro-F1 − zero-shot | gold log-prob − zero-shot (nats) | Macro-F1 gate |"
        " log-prob gate |",
        "|---|---:|---:|:---:|:---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['prompt']} | {cell(row['macro_f1_minus_zero_shot'])} | "
            f"{cell(row['gold_log_prob_minus_zero_shot'])} | "
            f"{'pass' if row['passes_macro_f1_gate'] else 'fail'} | "
            f"{'pass' if row['passes_log_prob_gate'] else 'fail'} |"
        )
    lines += [
        "",
        "Macro-F1 gate: passes when the Macro-F1 difference's interval lies above 0. "
        "Log-prob gate: passes when the mean gold-label log-probability difference's interval "
        "lies above 0 and the Macro-F1 difference is not negative.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
