"""Score compiled prompts on freshly generated examples: held out, yet not the test split.

    python scripts/fresh_eval.py signatures/legal_intake.py compiled/legal_intake.json \
        .pldc/demo-report-legal_intake/artifact.json --names default rules_only

For a task whose module has a seeded generator (`generate_*(n=, seed=)`, as the bundled demos
do), this draws `--n` new examples and `--calibration-n` others (other seeds than the task's
own data; overlaps are counted), and scores, with the real student and pldc's one renderer:
no rules, the generator's true rules, and for each artifact given its shipped prompt and its
search's best trial. `--pair NAME OTHER` adds the paired difference between two artifacts'
shipped prompts, e.g. a compile under new settings against one under the old. `--mix NAME
FEW_SHOT` also scores NAME's rules followed by FEW_SHOT's demonstrations in one prompt, to see
whether the two combine (pair it as NAME+demos; NAME `true` takes the true rules). With
`--mean-of-pairs`, the pairs' mean difference is added, bootstrapped over the same resampled
examples for every pair: e.g. new minus old settings, each compiled at several seeds. Every
prompt is scored with today's student decoding. Each prompt is batch-calibrated on the calibration
inputs, then Macro-F1 is compared with no rules by a paired bootstrap (`pldc.stats`).
Choosing between compile settings on these examples never touches the task's test split.
Label scores are stored in .pldc/demo-ceiling/ (shared with scripts/demo_ceiling.py). Writes
docs/fresh-eval-<task>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from demo_ceiling import find_generator, overlapping_texts, run_prompt  # noqa: E402

from pldc.artifact import load_artifact  # noqa: E402
from pldc.backends import open_model  # noqa: E402
from pldc.evaluate import score_predictions  # noqa: E402
from pldc.models import DEFAULT_STUDENT  # noqa: E402
from pldc.render import render_candidates, render_system_prompt  # noqa: E402
from pldc.stats import (  # noqa: E402
    macro_f1_interval,
    mean_paired_difference,
    paired_difference,
)
from pldc.store import JsonlStore  # noqa: E402
from pldc.taskfile import load_task_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_file")
    parser.add_argument("artifacts", nargs="+", type=Path)
    parser.add_argument("--names", nargs="+", help="a name per artifact (default: file stems)")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3003)
    parser.add_argument("--calibration-n", type=int, default=60)
    parser.add_argument("--calibration-seed", type=int, default=2002)
    parser.add_argument("--output", type=Path, help="default: docs/fresh-eval-<task>")
    parser.add_argument(
        "--pair",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "OTHER"),
        help="also compare two artifacts' shipped prompts, NAME minus OTHER, paired (repeatable)",
    )
    parser.add_argument(
        "--mix",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "FEW_SHOT"),
        help="also score NAME's shipped rules (NAME 'true': the generator's true rules) followed "
        "by FEW_SHOT's shipped demonstrations, as many as fit FEW_SHOT's token budget; pair it "
        "as NAME+demos (repeatable)",
    )
    parser.add_argument(
        "--mean-of-pairs",
        action="store_true",
        help="also give the mean of the --pair differences, with one joint bootstrap interval",
    )
    args = parser.parse_args()
    names = args.names or [path.stem for path in args.artifacts]
    if len(names) != len(args.artifacts):
        parser.error("give one --names entry per artifact")

    task_path = Path(args.task_file)
    task = load_task_file(task_path)
    module = sys.modules[task.signature.__module__]
    schema = task.schema
    generate = find_generator(module, None)
    evaluation = generate(n=args.n, seed=args.seed)
    calibration_set = generate(n=args.calibration_n, seed=args.calibration_seed)
    prompts = {
        "no rules": render_system_prompt(schema, []),
        "true rules": render_system_prompt(schema, module.true_rules),
    }
    mixed = {f"{name}+demos" for name, _ in args.mix}
    unknown = {name for pair in args.pair for name in pair} - {*names, *mixed, "true"}
    unknown |= {name for mix in args.mix for name in mix} - {*names, "true"}
    if unknown:
        parser.error(f"--pair/--mix names {sorted(unknown)} are not among --names {names}")
    student = open_model(DEFAULT_STUDENT)
    shipped_row = {"true": "true rules"}
    artifacts = {}
    for name, path in zip(names, args.artifacts, strict=True):
        artifacts[name] = artifact = load_artifact(path)
        by_id = {rule.id: rule for rule in artifact.provenance.candidate_rules}
        best = next(
            t for t in artifact.provenance.trials if t.number == artifact.provenance.best_trial
        )
        shipped = artifact.gate.shipped if artifact.gate else "searched"
        prompts[f"{name}: searched (trial {best.number}, {len(best.rule_ids)} candidates)"] = (
            render_candidates(schema, [by_id[i] for i in best.rule_ids])
        )
        shipped_row[name] = f"{name}: shipped ({shipped}, {len(artifact.rules)} candidates)"
        prompts[shipped_row[name]] = artifact.prompt.system

    for name, few_shot in args.mix:
        rules = (
            list(module.true_rules)
            if name == "true"
            else [r.text for r in artifacts[name].rules if r.kind != "demonstration"]
        )
        system, k = _with_demonstrations(schema, rules, artifacts[few_shot], student)
        shipped_row[f"{name}+demos"] = row = f"{shipped_row[name]} + {k} of {few_shot}'s demos"
        prompts[row] = system

    store = JsonlStore(ROOT / ".pldc" / "demo-ceiling" / f"{task.display_name}.jsonl")
    gold = [record[schema.output_field] for record in evaluation]
    predicted = {}
    for name, system_prompt in prompts.items():
        print(f"{name} ...", file=sys.stderr, flush=True)
        predicted[name] = run_prompt(
            student, schema, system_prompt, calibration_set, evaluation, store
        )[0]
    labels = schema.labels
    rows = []
    for name, labels_predicted in predicted.items():
        score = macro_f1_interval(gold, labels_predicted, labels)
        versus = paired_difference(gold, labels_predicted, predicted["no rules"], labels)
        rows.append(
            {
                "prompt": name,
                "macro_f1": [score.estimate, score.low, score.high],
                "minus_no_rules": [versus.estimate, versus.low, versus.high],
                "accuracy": score_predictions(gold, labels_predicted, labels).accuracy,
                "system_prompt_tokens": student.count_tokens(prompts[name]),
            }
        )
    pairs = []
    for name, other in args.pair:
        a, b = shipped_row[name], shipped_row[other]
        difference = paired_difference(gold, predicted[a], predicted[b], labels)
        pairs.append(
            {
                "prompt": a,
                "minus": b,
                "difference": [difference.estimate, difference.low, difference.high],
            }
        )
    if args.mean_of_pairs and pairs:
        mean = mean_paired_difference(
            gold, [(predicted[p["prompt"]], predicted[p["minus"]]) for p in pairs], labels
        )
        pairs.append(
            {
                "prompt": f"mean of the {len(pairs)} pairs above",
                "minus": "(each pair's second prompt)",
                "difference": [mean.estimate, mean.low, mean.high],
            }
        )
    command = shlex.join(["python", "scripts/fresh_eval.py", *sys.argv[1:]])
    report = {
        "task": task.display_name,
        "command": command,
        "evaluation": {"n": args.n, "seed": args.seed},
        "calibration": {"n": args.calibration_n, "seed": args.calibration_seed},
        "texts_shared_with_task_data": overlapping_texts(
            schema, evaluation, calibration_set, task.data
        ),
        "rows": rows,
        "pairs": pairs,
    }
    output = args.output or ROOT / "docs" / f"fresh-eval-{task.display_name}"
    output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(_markdown(report))
    print(_markdown(report))


def _with_demonstrations(schema, rules, few_shot, student) -> tuple[str, int]:
    """`rules`, then as many of `few_shot`'s shipped demonstrations as fit its token budget."""
    demonstrations = [r.text for r in few_shot.rules if r.kind == "demonstration"]
    k = 0
    while k < len(demonstrations):
        system = render_system_prompt(schema, rules, demonstrations=demonstrations[: k + 1])
        if student.count_tokens(system) > few_shot.token_budget:
            break
        k += 1
    return render_system_prompt(schema, rules, demonstrations=demonstrations[:k]), k


def _markdown(report: dict) -> str:
    def cell(values: list[float], sign: str = "") -> str:
        return f"{values[0]:{sign}.3f} [{values[1]:{sign}.3f}, {values[2]:{sign}.3f}]"

    lines = [
        f"# Fresh examples: {report['task']}",
        "",
        f"Generated by `{report['command']}`: {report['evaluation']['n']} freshly generated "
        f"examples (seed {report['evaluation']['seed']}), batch calibration fitted on "
        f"{report['calibration']['n']} others (seed {report['calibration']['seed']}); "
        f"texts shared with the task's own data: {report['texts_shared_with_task_data']}. "
        "Not the test split: compile settings may be chosen on these.",
        "",
        "| prompt | Macro-F1 [95% CI] | minus no rules (paired) | accuracy | tokens |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['prompt']} | {cell(row['macro_f1'])} | {cell(row['minus_no_rules'], '+')} "
            f"| {row['accuracy']:.3f} | {row['system_prompt_tokens']} |"
        )
    if report.get("pairs"):
        lines += [
            "",
            "Between artifacts, on the same examples (paired bootstrap, 95%):",
            "",
            "| shipped prompt | minus | Macro-F1 difference [95% CI] |",
            "|---|---|---:|",
        ]
        for pair in report["pairs"]:
            difference = cell(pair["difference"], "+")
            lines.append(f"| {pair['prompt']} | {pair['minus']} | {difference} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
