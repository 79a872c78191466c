"""Search strategies on one fixed rule pool: best dev Macro-F1 against student calls.

    python scripts/strategy_comparison.py compiled/expense_claims.json signatures/expense_claims.py

The pool is the artifact's candidate rules (pinned rules stay pinned); the student, budget,
calibration and dev split are the artifact's. Each strategy is the one `pldc compile` runs for
that `sampler` setting (pldc.search), gets its own score cache, so a prompt it has seen before
costs nothing, and at most `--prompts` trials:

- teacher order (`teacher_order`): every rule, in the teacher's order, trimmed to the budget
  (one prompt);
- greedy forward selection (`greedy`): from the prompt with no candidate rule, add the rule
  that raises dev Macro-F1 most, until none does;
- random search (`random`): Optuna's RandomSampler;
- TPE (`tpe`): Optuna's TPESampler.

Random search and TPE both start from the teacher-order prompt, as `pldc compile` does.
Writes docs/strategy-comparison.md and .json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import optuna

from pldc.artifact import load_artifact
from pldc.backends import model_threads, open_recorded_model
from pldc.data import load_task_and_data
from pldc.evaluate import StudentEvaluator
from pldc.search import SearchStrategy, search_rules, strategy_for
from pldc.settings import SearchSettings

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("task_file")
    parser.add_argument("--prompts", type=int, default=12, help="trials per strategy")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # quiet per-trial lines, as pldc compile

    artifact = load_artifact(args.artifact)
    task, data = load_task_and_data(args.task_file)
    schema, dev = task.schema, data.dev
    student = open_recorded_model(artifact.student)
    pinned = [r for r in artifact.provenance.candidate_rules if r.fate == "pinned"]
    pool = [r for r in artifact.provenance.candidate_rules if r.fate != "pinned"]
    method = "batch" if artifact.calibration.method != "none" else "none"

    settings = SearchSettings(artifact.token_budget, args.prompts, artifact.seed, method)
    texts = {rule.id: rule.text for rule in artifact.provenance.candidate_rules}

    def scored_curve(strategy: SearchStrategy) -> list[tuple[int, float]]:
        """(student calls so far, best dev Macro-F1 so far) after each trial."""
        evaluator = StudentEvaluator(student, schema, artifact.prompt.user_template)
        result = search_rules(
            schema, pool, evaluator, dev, settings, pinned=pinned, strategy=strategy
        )
        curve, seen, best = [], set(), 0.0
        for trial in result.trials:  # a prompt seen before came from the cache, for free
            prompt = tuple(texts[rule_id] for rule_id in trial.rule_ids)  # rules may share a text
            calls = len(dev) if prompt not in seen else 0
            seen.add(prompt)
            best = max(best, trial.dev_macro_f1)
            curve.append(((curve[-1][0] if curve else 0) + calls, best))
        assert curve[-1][0] == evaluator.student_calls, "the curve must count what was scored"
        return curve

    strategies = {
        label: strategy_for(replace(settings, sampler=name))
        for label, name in [
            ("teacher order", "teacher_order"),
            ("greedy forward selection", "greedy"),
            ("random search", "random"),
            ("TPE", "tpe"),
        ]
    }
    rows = []
    for name, strategy in strategies.items():
        started = time.perf_counter()
        curve = scored_curve(strategy)
        rows.append(
            {
                "strategy": name,
                "prompts_scored": len(curve),
                "student_calls": curve[-1][0],
                "seconds": round(time.perf_counter() - started, 1),
                "best_dev_macro_f1": round(curve[-1][1], 4),
                "curve": [{"student_calls": c, "best_dev_macro_f1": round(f, 4)} for c, f in curve],
            }
        )
        print({k: v for k, v in rows[-1].items() if k != "curve"}, flush=True)
    write_report(args, artifact, pool, dev, rows)


def write_report(args, artifact, pool, dev, rows) -> None:
    out = ROOT / "docs" / "strategy-comparison"
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    checkpoints = sorted({c["student_calls"] for row in rows for c in row["curve"]})
    marks = [checkpoints[len(checkpoints) * i // 4] for i in range(1, 4)] + [checkpoints[-1]]

    def best_by(row, calls: int) -> str:
        reached = [c["best_dev_macro_f1"] for c in row["curve"] if c["student_calls"] <= calls]
        return f"{max(reached):.3f}" if reached else "—"

    lines = [
        "# Search strategies: best dev Macro-F1 against student calls",
        "",
        f"Generated by `python scripts/strategy_comparison.py {args.artifact} {args.task_file}"
        f"{'' if args.prompts == 12 else f' --prompts {args.prompts}'}` in one run, on "
        f"{platform.machine()} with {model_threads()} threads. Pool: the {len(pool)} candidate "
        f"rules of `{args.artifact}`; student {artifact.student.name}; budget "
        f"{artifact.token_budget} tokens; dev split {len(dev)} examples; at most {args.prompts} "
        f"trials (prompts) per strategy; seed {artifact.seed}. A student call scores one dev "
        "example under one prompt.",
        "",
        "| strategy | prompts scored | student calls | wall time (s) | best dev Macro-F1 | "
        + " | ".join(f"best by {m} calls" for m in marks)
        + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(marks),
    ]
    for row in rows:
        lines.append(
            f"| {row['strategy']} | {row['prompts_scored']} | {row['student_calls']} | "
            f"{row['seconds']} | {row['best_dev_macro_f1']:.3f} | "
            + " | ".join(best_by(row, m) for m in marks)
            + " |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
