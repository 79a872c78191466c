"""Search strategies on one fixed rule pool: best dev Macro-F1 against student calls.

    python scripts/strategy_comparison.py compiled/expense_claims.json signatures/expense_claims.py

The pool is the artifact's candidate rules (pinned rules stay pinned); the student, budget,
calibration and dev split are the artifact's. Each strategy gets its own score cache, so a
prompt it has seen before costs nothing, and at most `--prompts` distinct prompts:

- teacher order: every rule, in the teacher's order, trimmed to the budget (one prompt);
- greedy forward selection: add the rule that raises dev Macro-F1 most, until none does;
- random search: Optuna's RandomSampler;
- TPE: Optuna's TPESampler, as `pldc compile` runs it.

Random search and TPE both start from the teacher-order prompt, as `pldc compile` does.
Writes docs/strategy-comparison.md and .json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from pldc.artifact import load_artifact
from pldc.backends import open_recorded_model
from pldc.data import load_task_data
from pldc.evaluate import StudentEvaluator
from pldc.search import fit_to_budget, search_rules
from pldc.settings import SearchSettings
from pldc.taskfile import load_task_file

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("task_file")
    parser.add_argument("--prompts", type=int, default=12, help="distinct prompts per strategy")
    args = parser.parse_args()

    artifact = load_artifact(args.artifact)
    task_path = Path(args.task_file)
    task = load_task_file(task_path)
    schema = task.schema
    dev = load_task_data(task, str(task_path), task_path.parent).dev
    student = open_recorded_model(artifact.student)
    pinned = [r for r in artifact.provenance.candidate_rules if r.fate == "pinned"]
    pool = [r for r in artifact.provenance.candidate_rules if r.fate != "pinned"]
    method = "batch" if artifact.calibration.method != "none" else "none"

    def fresh() -> StudentEvaluator:
        return StudentEvaluator(student, schema, artifact.prompt.user_template)

    def fit(rules):
        return fit_to_budget(schema, rules, student.count_tokens, artifact.token_budget, pinned)

    def teacher_order():
        evaluator = fresh()
        scores, _ = evaluator.calibrated(method, fit(pool).system_prompt, dev)
        return [(evaluator.student_calls, scores.macro_f1)]

    def greedy():
        evaluator, chosen, curve, current = fresh(), [], [], None
        while len(curve) < args.prompts:
            step = None  # (dev Macro-F1, rule) of the best addition this round
            for rule in pool:
                if rule in chosen or len(curve) >= args.prompts:
                    continue
                fitted = fit([*chosen, rule])
                if rule not in fitted.rules:
                    continue  # adding it would break the budget
                scores, _ = evaluator.calibrated(method, fitted.system_prompt, dev)
                best = max(scores.macro_f1, curve[-1][1] if curve else 0.0)
                curve.append((evaluator.student_calls, best))
                if step is None or scores.macro_f1 > step[0]:
                    step = (scores.macro_f1, rule)
            if step is None or (current is not None and step[0] <= current):
                break
            current = step[0]
            chosen.append(step[1])
        return curve

    def optuna_search(sampler: str):
        evaluator = fresh()
        settings = SearchSettings(
            artifact.token_budget, args.prompts, artifact.seed, method, sampler=sampler
        )
        result = search_rules(schema, pool, evaluator, dev, settings, pinned=pinned)
        curve, seen, best = [], set(), 0.0
        for trial in result.trials:  # a prompt seen before came from the cache, for free
            calls = len(dev) if tuple(trial.rule_ids) not in seen else 0
            seen.add(tuple(trial.rule_ids))
            best = max(best, trial.dev_macro_f1)
            curve.append(((curve[-1][0] if curve else 0) + calls, best))
        assert curve[-1][0] == evaluator.student_calls, "the curve must count what was scored"
        return curve

    strategies = {
        "teacher order": teacher_order,
        "greedy forward selection": greedy,
        "random search": lambda: optuna_search("random"),
        "TPE": lambda: optuna_search("tpe"),
    }
    rows = []
    for name, run in strategies.items():
        started = time.perf_counter()
        curve = run()
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
        f"{platform.machine()} with 2 CPU cores. Pool: the {len(pool)} candidate rules of "
        f"`{args.artifact}`; student {artifact.student.name}; budget {artifact.token_budget} "
        f"tokens; dev split {len(dev)} examples; at most {args.prompts} distinct prompts per "
        f"strategy; seed {artifact.seed}. A student call scores one dev example under one prompt.",
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
