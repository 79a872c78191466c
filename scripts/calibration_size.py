"""How many inputs batch calibration needs, measured on labelled non-test data only.

    python scripts/calibration_size.py signatures/stereoset.py

pldc fits its batch-calibration offsets (`pldc.calibration`, Zhou et al., 2023) on unlabelled
inputs: a search trial on its selection examples', the shipped prompt on dev and training
inputs (`calibration_examples`). Offsets fitted on fewer inputs are noisier, and a noisier
offset costs decisions. This script measures how much,
without touching test: the task's train and dev examples form one labelled pool, split at random
into a calibration half and an evaluation half (several times, `--splits`). For each size n, it
fits the offsets on `--draws` random n-input samples of the calibration half, and scores the
evaluation half with each: the mean Macro-F1, accuracy and calibrated gold-label log-probability
(nats), with the 2.5 and 97.5 percentiles across splits and draws; and, the figure that says how
much luck a calibration set brings, each draw's Macro-F1 minus that of the fit on the whole
calibration half, on the same evaluation half. "none" is the uncalibrated student, "own
inputs" fits on the evaluation half's own inputs (batch calibration at test time), and "to its
label prior" moves the whole half's offsets by the log of its gold-label frequencies, so the
decisions follow the label prior instead of a uniform one (batch calibration assumes uniform).

Prompts: the zero-shot scaffold, and plain few-shot as the benchmark's row builds it. Label
scores are stored in .pldc/calibration-size/. Writes docs/calibration-size-<task>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from demo_ceiling import stored_label_scores  # noqa: E402

from pldc.backends import open_model  # noqa: E402
from pldc.calibration import decide, fit_calibration, gold_log_probability  # noqa: E402
from pldc.data import load_task_and_data  # noqa: E402
from pldc.demonstrations import demonstration_candidates  # noqa: E402
from pldc.evaluate import score_predictions  # noqa: E402
from pldc.models import DEFAULT_STUDENT  # noqa: E402
from pldc.records import Calibration  # noqa: E402
from pldc.render import render_system_prompt  # noqa: E402
from pldc.store import JsonlStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_file")
    parser.add_argument("--sizes", default="25,50,100,200", help="calibration sizes, plus all")
    parser.add_argument(
        "--splits", type=int, default=5, help="random calibration/evaluation splits"
    )
    parser.add_argument("--draws", type=int, default=50, help="calibration samples per size")
    parser.add_argument("--budget", type=int, default=512, help="few-shot token budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompts", default="zero-shot,few-shot")
    args = parser.parse_args()

    task, data = load_task_and_data(args.task_file)
    schema = task.schema
    labels = list(schema.labels)
    student = open_model(DEFAULT_STUDENT)
    demos = demonstration_candidates(
        schema,
        list(data.train),
        len(data.train),
        seed=args.seed,
        count_tokens=student.count_tokens,
        token_budget=args.budget,
    )
    demo_ids = {i for demo in demos for i in demo.source_example_ids}
    prompts = {
        "zero-shot": render_system_prompt(schema, []),
        "few-shot": render_system_prompt(schema, [], demonstrations=[d.text for d in demos]),
    }
    store = JsonlStore(ROOT / ".pldc" / "calibration-size" / f"{task.display_name}.jsonl")
    # The few-shot prompt's own demonstrations stay out of the pool, for both prompts alike.
    pool = [example for example in [*data.train, *data.dev] if example.id not in demo_ids]
    sizes = [int(size) for size in args.sizes.split(",")]
    report = {
        "task": task.display_name,
        "command": shlex.join(["python", "scripts/calibration_size.py", *sys.argv[1:]]),
        "pool": len(pool),
        "splits": args.splits,
        "draws": args.draws,
        "prompts": {},
    }
    for name in args.prompts.split(","):
        system_prompt = prompts[name]
        rows = stored_label_scores(
            student, schema, system_prompt, [example.inputs for example in pool], store
        )
        report["prompts"][name] = {
            "system_prompt_tokens": student.count_tokens(system_prompt),
            "results": _measure(pool, rows, labels, sizes, args),
        }
    output = ROOT / "docs" / f"calibration-size-{task.display_name}"
    output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(_markdown(report))
    print(_markdown(report))


PRIOR = "all of the half, to its label prior"


def _prior_matched(batch: Calibration, gold: list[str], labels: list[str]) -> Calibration:
    """Batch calibration's offsets moved so the mean decision follows the calibration half's
    label frequencies instead of a uniform prior (reads their gold labels)."""
    prior = {label: max(gold.count(label) / len(gold), 1e-6) for label in labels}
    return Calibration(
        method="batch",
        label_offsets={
            label: batch.label_offsets[label] + math.log(prior[label]) for label in labels
        },
    )


def _summary(values: list[float]) -> list[float]:
    array = np.array(values)
    return [float(array.mean()), *map(float, np.percentile(array, [2.5, 97.5]))]


def _measure(pool, rows, labels, sizes, args) -> list[dict]:
    rng = random.Random(args.seed)
    half = len(pool) // 2
    results: dict[str, dict[str, list[float]]] = {}

    def record(name: str, calibration, evaluation: list[int]) -> float:
        gold = [pool[i].label for i in evaluation]
        predicted = [decide(rows[i], labels, calibration) for i in evaluation]
        scores = score_predictions(gold, predicted, labels)
        f1 = scores.macro_f1
        nats = float(
            np.mean(
                [
                    gold_log_probability(rows[i], g, labels, calibration)
                    for i, g in zip(evaluation, gold, strict=True)
                ]
            )
        )
        entry = results.setdefault(
            name, {"macro_f1": [], "accuracy": [], "gold_log_prob": [], "minus_all": []}
        )
        entry["macro_f1"].append(f1)
        entry["accuracy"].append(scores.accuracy)
        entry["gold_log_prob"].append(nats)
        return f1

    for _ in range(args.splits):
        order = list(range(len(pool)))
        rng.shuffle(order)
        calibration_half, evaluation = order[:half], order[half:]
        whole = fit_calibration("batch", [rows[i] for i in calibration_half], labels)
        f1_all = record("all", whole, evaluation)
        results["all"]["minus_all"].append(0.0)
        fits = {"none": [fit_calibration("none", [], labels)]}
        for size in [size for size in sizes if size < len(calibration_half)]:
            fits[str(size)] = [
                fit_calibration(
                    "batch", [rows[i] for i in rng.sample(calibration_half, size)], labels
                )
                for _ in range(args.draws)
            ]
        fits["own inputs"] = [fit_calibration("batch", [rows[i] for i in evaluation], labels)]
        fits[PRIOR] = [_prior_matched(whole, [pool[i].label for i in calibration_half], labels)]
        for name, calibrations in fits.items():
            for calibration in calibrations:
                f1 = record(name, calibration, evaluation)
                results[name]["minus_all"].append(f1 - f1_all)
    out = []
    for name, entry in results.items():
        f1, nats = np.array(entry["macro_f1"]), np.array(entry["gold_log_prob"])
        minus = np.array(entry["minus_all"])
        out.append(
            {
                "calibration_inputs": name if not name.isdigit() else int(name),
                "n_half": half,
                "macro_f1": [float(f1.mean()), *map(float, np.percentile(f1, [2.5, 97.5]))],
                "gold_log_prob": [
                    float(nats.mean()),
                    *map(float, np.percentile(nats, [2.5, 97.5])),
                ],
                "minus_all": [float(minus.mean()), *map(float, np.percentile(minus, [2.5, 97.5]))],
                "accuracy": _summary(entry["accuracy"]),
                "evaluations": len(f1),
            }
        )
    return out


def _markdown(report: dict) -> str:
    lines = [
        f"# Batch calibration size: {report['task']}",
        "",
        f"`{report['command']}`",
        "",
        f"Labelled pool: train and dev, {report['pool']} examples (never test), split "
        f"{report['splits']} times into a calibration half and an evaluation half; "
        f"{report['draws']} random calibration samples per size. Mean over splits and draws, "
        "[2.5, 97.5] percentiles across them.",
        "",
    ]
    for name, entry in report["prompts"].items():
        lines += [
            f"## {name} ({entry['system_prompt_tokens']} system-prompt tokens)",
            "",
            "| calibration inputs | evaluation Macro-F1 | minus the whole half's fit, same split "
            "| accuracy | gold log-prob (nats) |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in entry["results"]:
            inputs = row["calibration_inputs"]
            inputs = f"all {row['n_half']} of the half" if inputs == "all" else inputs
            f1, nats, minus = row["macro_f1"], row["gold_log_prob"], row["minus_all"]
            accuracy = row["accuracy"]
            lines.append(
                f"| {inputs} | {f1[0]:.3f} [{f1[1]:.3f}, {f1[2]:.3f}] "
                f"| {minus[0]:+.3f} [{minus[1]:+.3f}, {minus[2]:+.3f}] "
                f"| {accuracy[0]:.3f} [{accuracy[1]:.3f}, {accuracy[2]:.3f}] "
                f"| {nats[0]:.3f} [{nats[1]:.3f}, {nats[2]:.3f}] |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
