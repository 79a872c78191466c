"""How far a task's true rules lift the student: with and without them, on fresh generated data.

    python scripts/demo_ceiling.py signatures/legal_intake.py
    python scripts/demo_ceiling.py signatures/legal_intake.py \
        --models qwen2.5-coder-0.5b-instruct-q4_k_m qwen2.5-coder-1.5b-instruct-q4_k_m

For a task module that exports `true_rules` and a seeded generator (`generate_*(n=, seed=)`),
it generates fresh evaluation examples and, separately, fresh calibration examples, each with
a seed of its own. Each model scores two system prompts, rendered by pldc's one renderer: the
task's instruction with no rules, and with the true rules. Under one prompt it scores every
calibration example and then every evaluation example, one after another, so the system prompt
stays in the model's KV cache. Labels are decided as pldc decides them: batch calibration
fitted on the calibration inputs only, then frozen for the evaluation examples. Macro-F1 is
scored against the generator's labels with their noise (what a compile sees); a paired
bootstrap over evaluation examples gives the 95% interval of Macro-F1(true rules) minus
Macro-F1(no rules). Writes docs/demo-ceiling.json and the results block of docs/demo-ceiling.md
(the text around the block, such as the design log, is kept). Label scores are cached in
.pldc/demo-ceiling/, so a rerun scores only what changed.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from pldc.backends import Backend, open_model
from pldc.calibration import Calibration, decide, fit_calibration
from pldc.evaluate import score_predictions, scorer_key
from pldc.models import DEFAULT_STUDENT
from pldc.render import render_messages, render_system_prompt, render_user_template
from pldc.store import JsonlStore, content_key
from pldc.task import TaskSchema
from pldc.taskfile import load_task_file

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- demo-ceiling:start -->", "<!-- demo-ceiling:end -->"
PROMPTS = ("no rules", "true rules")

Record = dict[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_file")
    parser.add_argument("--models", nargs="+", default=[DEFAULT_STUDENT])
    parser.add_argument("--generator", help="the task module's generator (default: generate_*)")
    parser.add_argument("--n", type=int, default=300, help="evaluation examples")
    parser.add_argument("--seed", type=int, default=1001, help="seed of the evaluation examples")
    parser.add_argument("--calibration-n", type=int, default=60)
    parser.add_argument("--calibration-seed", type=int, default=2002)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--bootstrap-seed", type=int, default=0)
    parser.add_argument("--output", default=str(ROOT / "docs" / "demo-ceiling"))
    args = parser.parse_args()
    if args.seed == args.calibration_seed:
        parser.error("--seed and --calibration-seed must differ")

    task_path = Path(args.task_file)
    task = load_task_file(task_path)
    module = sys.modules[task.signature.__module__]
    schema = task.schema
    true_rules: list[str] = module.true_rules
    generate = find_generator(module, args.generator)
    evaluation = generate(n=args.n, seed=args.seed)
    calibration_set = generate(n=args.calibration_n, seed=args.calibration_seed)
    overlap = overlapping_texts(schema, evaluation, calibration_set, task.data)
    prompts = {
        "no rules": render_system_prompt(schema, []),
        "true rules": render_system_prompt(schema, true_rules),
    }
    rules_stated = getattr(module, "rules_stated", None)

    store = JsonlStore(ROOT / ".pldc" / "demo-ceiling" / f"{task.display_name}.jsonl")
    gold = [record[schema.output_field] for record in evaluation]
    clean_field = f"true_{schema.output_field}"
    clean = [record[clean_field] for record in evaluation] if clean_field in evaluation[0] else None
    resample_rng = np.random.default_rng(args.bootstrap_seed)
    resamples = resample_rng.integers(0, len(gold), size=(args.resamples, len(gold)))

    model_results = []
    for name in args.models:
        student = open_model(name)
        try:
            runs = {
                prompt_name: run_prompt(
                    student, schema, system_prompt, calibration_set, evaluation, store
                )
                for prompt_name, system_prompt in prompts.items()
            }
            tokens = {key: student.count_tokens(text) for key, text in prompts.items()}
        finally:
            student.close()  # one model in memory at a time
        results = []
        for prompt_name, (predicted, calibration, seconds) in runs.items():
            scores = score_predictions(gold, predicted, schema.labels)
            results.append(
                {
                    "prompt": prompt_name,
                    "system_prompt_tokens": tokens[prompt_name],
                    "seconds": round(seconds, 1),
                    "calibration_offsets": calibration.label_offsets,
                    **scores.model_dump(),
                    "clean_macro_f1": (
                        score_predictions(clean, predicted, schema.labels).macro_f1
                        if clean
                        else None
                    ),
                    "accuracy_by_rule": accuracy_by_rule(evaluation, predicted, gold),
                }
            )
        difference = paired_bootstrap(
            gold, runs["no rules"][0], runs["true rules"][0], schema.labels, resamples
        )
        model_results.append({"model": name, "prompts": results, "difference": difference})
        print_model(name, results, difference)

    command = shlex.join(["python", "scripts/demo_ceiling.py", *sys.argv[1:]])
    report = {
        "task": task.display_name,
        "task_file": task_path.as_posix(),
        "command": command,
        "machine": machine(),
        "evaluation": {"n": len(evaluation), "seed": args.seed, "label_counts": counts(gold)},
        "calibration": {
            "method": "batch",
            "n": len(calibration_set),
            "seed": args.calibration_seed,
        },
        "texts_shared_with_task_data": overlap,
        "bootstrap": {"resamples": args.resamples, "seed": args.bootstrap_seed},
        "true_rules": true_rules,
        "true_rules_stated": rules_stated(prompts["true rules"]) if rules_stated else None,
        "system_prompts": prompts,
        "models": model_results,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(output.with_suffix(".md"), render_block(report))


def find_generator(module: object, name: str | None) -> Callable[..., list[Record]]:
    if name:
        return getattr(module, name)
    found = [
        value
        for key, value in vars(module).items()
        if key.startswith("generate_") and inspect.isfunction(value)
    ]
    if len(found) != 1:
        sys.exit("the task module needs exactly one generate_* function; name it with --generator")
    return found[0]


def overlapping_texts(
    schema: TaskSchema, evaluation: list[Record], calibration_set: list[Record], task_data: object
) -> dict[str, int]:
    """How many evaluation inputs also occur in the calibration set or the task's own data."""

    def key(record: Record) -> tuple[str, ...]:
        return tuple(record[spec.name] for spec in schema.input_fields)

    evaluated = {key(r) for r in evaluation}
    own = {key(r) for r in task_data} if isinstance(task_data, list) else set()
    return {
        "calibration": len(evaluated & {key(r) for r in calibration_set}),
        "task_data": len(evaluated & own),
    }


def run_prompt(
    student: Backend,
    schema: TaskSchema,
    system_prompt: str,
    calibration_set: Sequence[Record],
    evaluation: Sequence[Record],
    store: JsonlStore,
) -> tuple[list[str], Calibration, float]:
    """Predicted labels for the evaluation records, calibrated on the calibration inputs."""
    started = time.perf_counter()
    labels = list(schema.labels)

    def label_scores(records: Sequence[Record]) -> list[dict[str, float]]:
        return stored_label_scores(student, schema, system_prompt, records, store)

    calibration = fit_calibration("batch", label_scores(calibration_set), labels)
    predicted = [decide(row, labels, calibration) for row in label_scores(evaluation)]
    return predicted, calibration, time.perf_counter() - started


def stored_label_scores(
    student: Backend,
    schema: TaskSchema,
    system_prompt: str,
    records: Sequence[Mapping[str, str]],
    store: JsonlStore,
) -> list[dict[str, float]]:
    """The student's label scores for each record's inputs under `system_prompt`, each read
    from `store` or scored and stored there."""
    user_template = render_user_template(schema)
    identity = scorer_key(student.identity)
    rows = []
    for i, record in enumerate(records, start=1):
        inputs = {spec.name: record[spec.name] for spec in schema.input_fields}
        messages = render_messages(system_prompt, user_template, inputs)
        key = content_key("label-scores", identity, messages, schema.labels)
        row = store.get(key)
        if row is None:
            row = student.score(messages, list(schema.labels))
            store.put(key, row)
        rows.append(row)
        if i % 50 == 0:
            print(f"  {i}/{len(records)}", file=sys.stderr, flush=True)
    return rows


def paired_bootstrap(
    gold: Sequence[str],
    without_rules: Sequence[str],
    with_rules: Sequence[str],
    labels: Sequence[str],
    resamples: np.ndarray,
) -> dict[str, float]:
    """Macro-F1(with rules) - Macro-F1(without), and its 95% percentile interval."""
    gold_a, without_a, with_a = (np.array(x) for x in (gold, without_rules, with_rules))

    def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
        return f1_score(truth, predicted, labels=list(labels), average="macro", zero_division=0)

    differences = np.array(
        [macro_f1(gold_a[i], with_a[i]) - macro_f1(gold_a[i], without_a[i]) for i in resamples]
    )
    low, high = np.percentile(differences, [2.5, 97.5])
    return {
        "macro_f1_difference": round(macro_f1(gold_a, with_a) - macro_f1(gold_a, without_a), 6),
        "ci95_low": round(float(low), 6),
        "ci95_high": round(float(high), 6),
        "bootstrap_mean": round(float(differences.mean()), 6),
    }


def accuracy_by_rule(
    evaluation: Sequence[Record], predicted: Sequence[str], gold: Sequence[str]
) -> dict[str, float] | None:
    """Share of each deciding rule's examples predicted right (against the noisy gold)."""
    if "policy_rule" not in evaluation[0]:
        return None
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for record, guess, truth in zip(evaluation, predicted, gold, strict=True):
        total[record["policy_rule"]] += 1
        right[record["policy_rule"]] += guess == truth
    return {rule: round(right[rule] / total[rule], 3) for rule in sorted(total)}


def counts(labels: Sequence[str]) -> dict[str, int]:
    return dict(sorted(Counter(labels).items()))


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, no GPU, "
        "shared with other jobs"
    )


def print_model(name: str, results: list[dict], difference: dict[str, float]) -> None:
    print(name)
    for row in results:
        print(
            f"  {row['prompt']:<10} Macro-F1 {row['macro_f1']:.3f}  accuracy {row['accuracy']:.3f}"
            f"  per class {row['per_class_f1']}  by rule {row['accuracy_by_rule']}"
            f"  ({row['seconds']:.0f} s)"
        )
    print(
        f"  difference {difference['macro_f1_difference']:+.3f} "
        f"[{difference['ci95_low']:+.3f}, {difference['ci95_high']:+.3f}]"
    )


def render_block(report: dict) -> str:
    labels = list(report["models"][0]["prompts"][0]["labels"]) if report["models"] else []
    lines = [
        f"Measured by `{report['command']}` on {report['machine']}.",
        "",
        f"{report['evaluation']['n']} fresh evaluation examples (generator seed "
        f"{report['evaluation']['seed']}, labels with the generator's noise: "
        + ", ".join(f"{k} {v}" for k, v in report["evaluation"]["label_counts"].items())
        + f"); batch calibration fitted on {report['calibration']['n']} other fresh examples' "
        f"inputs (seed {report['calibration']['seed']}) under each prompt. Difference: "
        "Macro-F1 with the true rules minus without, with a 95% paired-bootstrap interval "
        f"({report['bootstrap']['resamples']} resamples of the evaluation examples, seed "
        f"{report['bootstrap']['seed']}).",
        "",
        "| prompt | model | Macro-F1 | difference vs no rules (95% CI) | accuracy | "
        + " | ".join(f"F1 {label}" for label in labels)
        + " | Macro-F1 vs noise-free labels | system-prompt tokens |",
        "|---|---|---:|---:|---:|" + "---:|" * len(labels) + "---:|---:|",
    ]
    for model in report["models"]:
        difference = model["difference"]
        for row in model["prompts"]:
            shown = (
                "—"
                if row["prompt"] == "no rules"
                else f"**{difference['macro_f1_difference']:+.3f}** "
                f"[{difference['ci95_low']:+.3f}, {difference['ci95_high']:+.3f}]"
            )
            clean = f"{row['clean_macro_f1']:.3f}" if row["clean_macro_f1"] is not None else "—"
            lines.append(
                f"| {row['prompt']} | {model['model']} | {row['macro_f1']:.3f} | {shown} | "
                f"{row['accuracy']:.3f} | "
                + " | ".join(f"{row['per_class_f1'][label]:.3f}" for label in labels)
                + f" | {clean} | {row['system_prompt_tokens']} |"
            )
    stated = report["true_rules_stated"]
    lines += [
        "",
        f"`rules_stated` finds {', '.join(stated) if stated else 'none'} in the true-rules "
        "prompt (it does not count the default rule); evaluation texts "
        f"shared with the task's own data: {report['texts_shared_with_task_data']['task_data']}, "
        f"with the calibration set: {report['texts_shared_with_task_data']['calibration']}. "
        "Raw numbers, accuracy per deciding rule and the prompts: "
        "[demo-ceiling.json](demo-ceiling.json).",
    ]
    return "\n".join(lines)


def write_markdown(path: Path, block: str) -> None:
    if path.exists():
        text = path.read_text()
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        if not rest:
            head, tail = text.rstrip() + "\n\n", "\n"
    else:
        head = "# The demo's ceiling: the student with the true rules\n\n"
        tail = "\n"
    path.write_text(f"{head}{START}\n{block}\n{END}{tail}")


if __name__ == "__main__":
    main()
