"""PLD against zero-shot, few-shot, chain of thought and DSPy's optimizers, on one task.

    python benchmarks/run.py signatures/expense_claims.py --test 60

Every row uses the same student, teacher, token budget, seed, training examples (the
`--train` examples PLD's teacher sees), dev split (what optimizers select on) and test slice
(`--test` examples of the test split, drawn once with the seed). Each finished row is written
at once to `benchmarks/results/<task>.json`, and a rerun skips it, so a killed run resumes at
its first unfinished row (a row's own work restarts, except PLD's compile, which resumes from
its run directory). The Markdown table is rewritten beside the JSON after every row. Each row
records its sitting (when this command started, pldc's commit and scoring revision), so a
table filled over several sittings says so.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import json
import logging
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dspy
from rich.console import Console
from rows import ROWS, Bench
from wrappers import CountingBackend

from pldc.backends import open_model
from pldc.calibration import calibration_examples
from pldc.data import load_task_and_data
from pldc.evaluate import SCORING_REVISION, score_predictions
from pldc.extract import select_teacher_examples
from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER
from pldc.progress import RichProgress
from pldc.records import Interval
from pldc.settings import CompileSettings
from pldc.stats import macro_f1_interval, mean_interval, paired_difference, paired_mean_difference

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ACCURACY_TASKS = {"logiqa"}  # multiple choice: the paper and the literature report accuracy
# Published in Badhe & Shah (arXiv 2602.21103): Gemma-3 4B student, frontier teacher.
PAPER = {
    "stereoset": "student zero-shot 0.57 → PLD 0.90 Macro-F1",
    "contract_nli": "student zero-shot 0.67 → PLD 0.83 Macro-F1",
}
UNPARSED = "<no label>"
DEFAULTS = {
    "train": 24,
    "budget": 512,
    "seed": 0,
    "teacher": DEFAULT_TEACHER,
    "student": DEFAULT_STUDENT,
}

console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_file")
    parser.add_argument(
        "--test", type=int, default=60, help="test examples, the same for every row"
    )
    parser.add_argument("--train", type=int, default=DEFAULTS["train"], help="training examples")
    parser.add_argument("--budget", type=int, default=DEFAULTS["budget"], help="token budget")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument(
        "--calibration-examples",
        type=_positive,
        default=CompileSettings().calibration_examples,
        help="inputs every label-scoring row is calibrated on (dev, then train), as pldc's",
    )
    parser.add_argument("--teacher", default=DEFAULTS["teacher"])
    parser.add_argument("--student", default=DEFAULTS["student"])
    parser.add_argument("--rows", help="comma-separated row names (default: all, in order)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and table")
    args = parser.parse_args()

    task_path = Path(args.task_file)
    task, data = load_task_and_data(task_path)
    config = {
        "task": task.display_name,
        "task_file": str(task_path),
        "teacher": args.teacher,
        "student": args.student,
        "budget": args.budget,
        "seed": args.seed,
        "train": min(args.train, len(data.train)),
        "dev": len(data.dev),
        "test": min(args.test, len(data.test)),
        "calibration_examples": min(args.calibration_examples, len(data.dev) + len(data.train)),
        "data_fingerprint": data.fingerprint,
    }
    out = args.out / f"{task.display_name}.json"
    results = _load_results(out, config)
    wanted = args.rows.split(",") if args.rows else list(ROWS)
    unknown = [name for name in wanted if name not in ROWS]
    if unknown:
        sys.exit(f"unknown rows {unknown}; choose from {list(ROWS)}")
    todo = [name for name in wanted if name not in results["rows"]]
    if not todo:
        console.print(f"every row is done: {out}")
        _write_markdown(out, results)
        return

    progress = RichProgress(console)
    bench = _bench(args, task, task_path, data, config, progress)
    dspy.configure(lm=None)
    for noisy in ("dspy", "gepa", "optuna"):  # rich progress reports instead
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sitting = _sitting()
    for name in todo:
        console.rule(f"{task.display_name}: {name}")
        results["rows"][name] = {**_run_row(name, bench, progress), "sitting": sitting}
        # Rows keep the runner's order, whichever order they were (re)run in.
        results["rows"] = {row: results["rows"][row] for row in ROWS if row in results["rows"]}
        _save(out, results)
        _write_markdown(out, results)
        row = results["rows"][name]
        console.print(f"{name}: {metric_name(results)} {row[metric_key(results)]:.3f}")
    console.print(f"wrote {out} and {out.with_suffix('.md')}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive count; give 1 or more")
    return value


def _bench(args, task, task_path: Path, data, config: dict, progress: RichProgress) -> Bench:
    """What every row shares: the examples, both models (counted), budget and seed."""
    rng = random.Random(args.seed)
    return Bench(
        task=task,
        task_path=task_path,
        train=select_teacher_examples(data.train, config["train"], args.seed),
        dev=list(data.dev),
        test=sorted(rng.sample(list(data.test), config["test"]), key=lambda ex: ex.id),
        calibration=calibration_examples(
            data.dev, data.train, config["calibration_examples"], args.seed
        ),
        teacher=CountingBackend(open_model(args.teacher, progress=progress)),
        student=CountingBackend(open_model(args.student, progress=progress)),
        budget=args.budget,
        seed=args.seed,
        run_dir=ROOT / ".pldc" / "benchmarks" / task.display_name,
        kept_dir=args.out / "compiled",
    )


def _run_row(name: str, b: Bench, progress: RichProgress) -> dict:
    teacher_before, student_before = b.teacher.snapshot(), b.student.snapshot()
    started = time.perf_counter()
    with progress.stage(f"{name}: compile", total=None):
        compiled = ROWS[name](b)
    compile_seconds = time.perf_counter() - started
    teacher_after, student_after = b.teacher.snapshot(), b.student.snapshot()

    predicted, latencies = [], []
    with progress.stage(f"{name}: test", total=len(b.test)) as stage:
        for example in b.test:
            began = time.perf_counter()
            label = compiled.predict(example.inputs)
            latencies.append(time.perf_counter() - began)
            predicted.append(label or UNPARSED)
            stage.advance()
    scores = score_predictions([ex.label for ex in b.test], predicted, b.schema.labels)
    return {
        "answered_by": compiled.answered_by,
        "decoding": compiled.decoding,
        "notes": compiled.notes,
        "test_macro_f1": scores.macro_f1,
        "test_accuracy": scores.accuracy,
        "unparsed": predicted.count(UNPARSED),
        "prompt_tokens": compiled.prompt_tokens,
        "calibration_offsets": (
            compiled.calibration.label_offsets if compiled.calibration else None
        ),
        "compile_teacher": _usage(teacher_before, teacher_after),
        "compile_student": _usage(student_before, student_after),
        "compile_seconds": round(compile_seconds, 1),
        "latency_median_seconds": round(statistics.median(latencies), 3),
        "per_class_f1": scores.per_class_f1,
        "confusion": scores.confusion,
        "test_ids": [example.id for example in b.test],
        "test_predictions": predicted,
        "test_gold": [example.label for example in b.test],
        "labels": list(b.schema.labels),
    }


def _usage(before: tuple[int, int, int], after: tuple[int, int, int]) -> dict[str, int]:
    calls, prompt, completion = (a - b for a, b in zip(after, before, strict=True))
    return {"calls": calls, "prompt_tokens": prompt, "completion_tokens": completion}


def _load_results(path: Path, config: dict) -> dict:
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("config") == config:
            return stored
        console.print(f"[yellow]{path} was made with other settings; starting it afresh[/]")
    return {"config": config, "machine": _machine(), "rows": {}}


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def _sitting() -> dict:
    """When this run started and which code it ran: rows from other sittings may differ."""
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "pldc_commit": _commit(),
        "scoring_revision": SCORING_REVISION,
    }


def _commit() -> str:
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        # Results files change as rows finish; only changed code makes the commit inexact.
        changed = git("diff", "--quiet", "HEAD", "--", "pldc", "benchmarks/*.py", "signatures")
    except OSError:  # no git on this machine
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if changed.returncode else "")


def _save(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(results, indent=2) + "\n")
    partial.replace(path)


def metric_key(results: dict) -> str:
    """The row field a task's table reports: "test_accuracy" or "test_macro_f1"."""
    return "test_accuracy" if results["config"]["task"] in ACCURACY_TASKS else "test_macro_f1"


def metric_name(results: dict) -> str:
    """The reported metric as a table heading names it: "accuracy" or "Macro-F1"."""
    return "accuracy" if metric_key(results) == "test_accuracy" else "Macro-F1"


def rerun_command(config: dict) -> str:
    """The command that reproduces these results (defaults left out)."""
    command = f"python benchmarks/run.py {config['task_file']} --test {config['test']}"
    for name, default in DEFAULTS.items():
        if config[name] != default:
            command += f" --{name} {config[name]}"
    return command


PLDC_ROWS = ("pldc PLD", "pldc rules-only")
VARIANTS = {"pldc unclustered": "pldc PLD", "pldc rules-only unclustered": "pldc rules-only"}
"""A pldc row run with another preset, and the row it is compared with, paired."""
BASELINE_PAIRS = {"student few-shot": "student zero-shot"}
"""Baseline rows compared with each other, paired: what demonstrations alone add."""


def intervals(results: dict) -> dict[str, dict[str, Interval]]:
    """Per row with stored predictions: its test metric's 95% interval ("metric"), and for each
    pldc row also stored, that pldc row minus this row, paired on the same test examples
    (keyed by the pldc row's name). Accuracy (LogiQA) is compared as the mean of per-example
    correctness; Macro-F1 as in `pldc.stats`."""
    rows = _predicted_rows(results)
    accuracy = metric_key(results) == "test_accuracy"
    out: dict[str, dict[str, Interval]] = {}
    for name, row in rows.items():
        gold, labels = row["test_gold"], row["labels"]
        out[name] = {
            "metric": mean_interval(_correct(row))
            if accuracy
            else macro_f1_interval(gold, row["test_predictions"], labels)
        }
        for pldc_name in PLDC_ROWS:
            pldc_row = rows.get(pldc_name)
            if pldc_row is None or pldc_name == name or pldc_row["test_ids"] != row["test_ids"]:
                continue
            out[name][pldc_name] = _paired(pldc_row, row, accuracy)
    return out


def _predicted_rows(results: dict) -> dict[str, dict]:
    """The rows whose test predictions are stored (rows from before they were kept are not)."""
    return {name: row for name, row in results["rows"].items() if row.get("test_predictions")}


def _correct(row: dict) -> list[float]:
    pairs = zip(row["test_gold"], row["test_predictions"], strict=True)
    return [float(gold == predicted) for gold, predicted in pairs]


def _paired(row: dict, other: dict, accuracy: bool) -> Interval:
    """`row` minus `other` on the same test examples: accuracy as the mean of per-example
    correctness, Macro-F1 as in `pldc.stats`."""
    if accuracy:
        return paired_mean_difference(_correct(row), _correct(other))
    return paired_difference(
        row["test_gold"], row["test_predictions"], other["test_predictions"], row["labels"]
    )


def comparison_cells(results: dict) -> dict[str, list[str]]:
    """Per row: its test metric with the 95% interval when its predictions are stored, then
    "pldc PLD − row" and "pldc rules-only − row" with their paired intervals ("—" where there
    is nothing to compare)."""
    found = intervals(results)
    key = metric_key(results)
    cells = {}
    for name, row in results["rows"].items():
        mine = found.get(name, {})
        metric = mine.get("metric")
        cells[name] = [
            f"{metric.estimate:.3f} [{metric.low:.3f}, {metric.high:.3f}]"
            if metric
            else f"{row[key]:.3f}",
            *(
                f"{mine[p].estimate:+.3f} [{mine[p].low:+.3f}, {mine[p].high:+.3f}]"
                if p in mine
                else "—"
                for p in PLDC_ROWS
            ),
        ]
    return cells


COMPARISON_NOTE = (
    "Intervals: 95% percentile bootstrap over the test examples (2000 resamples); the pldc "
    "columns are that pldc row minus the row, paired on the same test examples (`pldc.stats`). "
    "Rows run before predictions were kept show their score alone."
)


def _write_markdown(path: Path, results: dict) -> None:
    config, rows = results["config"], results["rows"]
    cot = rows.get("student chain of thought")
    lines = [
        f"# Benchmark: {config['task']}",
        "",
        f"`{rerun_command(config)}` on "
        f"{results['machine']}. Teacher {config['teacher']}, student {config['student']}, "
        f"budget {config['budget']} tokens, seed {config['seed']}. Every row: the same "
        f"{config['train']} training examples, {config['dev']} dev examples to select on, and "
        f"the same test slice of **{config['test']} examples**."
        + (
            f" Rows that score labels are batch-calibrated on the same "
            f"{config['calibration_examples']} inputs (dev, then training), as a compile "
            "calibrates the prompt it ships."
            if "calibration_examples" in config
            else ""
        ),
        "",
    ]
    if config["task"] in PAPER:
        lines += [
            f"The paper's published figures, for comparison (Gemma-3 4B student, frontier "
            f"teacher, the paper's own splits): {PAPER[config['task']]}.",
            "",
        ]
    lines += [
        f"| row | answers | test {metric_name(results)} [95% CI] | pldc PLD − row | pldc "
        "rules-only − row | prompt tokens | teacher calls / tokens | student calls / tokens | "
        "compile time (s) | median latency (s) | latency vs student CoT | no label | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    cells = comparison_cells(results)
    for name, row in rows.items():
        teacher, student = row["compile_teacher"], row["compile_student"]
        ratio = (
            f"{row['latency_median_seconds'] / cot['latency_median_seconds']:.2f}×"
            if cot and cot["latency_median_seconds"] > 0
            else "—"
        )
        lines.append(
            f"| {name} | {row['answered_by']} | {' | '.join(cells[name])} | "
            f"{row['prompt_tokens']} | "
            f"{teacher['calls']} / {teacher['prompt_tokens'] + teacher['completion_tokens']} | "
            f"{student['calls']} / {student['prompt_tokens'] + student['completion_tokens']} | "
            f"{row['compile_seconds']} | {row['latency_median_seconds']} | {ratio} | "
            f"{row['unparsed']} | {row['decoding']}; {'; '.join(row['notes'])} |"
        )
    lines += [
        "",
        "Prompt tokens: what the model is sent for an example, less the example's own input "
        "text, under the answering model's tokenizer. pldc's scaffold holds its system prompt "
        "to the budget; DSPy's prompts are not held to it. Compile calls and tokens are counted "
        "per model; latency is per test example, with the model already loaded. " + COMPARISON_NOTE,
    ]
    lines += extra_lines(results)
    lines += _sittings_note(rows)
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")


def _paired_lines(results: dict, pairs: dict[str, str], heading: str) -> list[str]:
    """Each row of `pairs` minus the row it is paired with, on the same test examples."""
    rows = _predicted_rows(results)
    accuracy = metric_key(results) == "test_accuracy"
    lines = [
        line
        for first, second in pairs.items()
        for line in _pair_line(rows, first, second, accuracy)
    ]
    if not lines:
        return []
    return ["", heading, "", *lines]


def _pair_line(rows: dict, first: str, second: str, accuracy: bool, after: str = "") -> list[str]:
    """`first` minus `second`, paired, as one list item; none unless both rows are there and
    scored on the same test examples."""
    if first not in rows or second not in rows:
        return []
    if rows[first]["test_ids"] != rows[second]["test_ids"]:
        return []
    diff = _paired(rows[first], rows[second], accuracy)
    return [
        f"- {first} − {second}{after}: {diff.estimate:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]"
    ]


def _accuracy_lines(results: dict) -> list[str]:
    """Each row's test accuracy with its 95% interval, and the baseline pairs' paired accuracy
    difference, under a Macro-F1 table: with a few test examples per label, Macro-F1's
    bootstrap interval covers the truth less often than 95% (docs/interval-coverage.md),
    accuracy's as often as it should."""
    if metric_key(results) == "test_accuracy":
        return []
    rows = _predicted_rows(results)
    if not rows:
        return []
    lines = ["", "Test accuracy [95% CI] (docs/interval-coverage.md says when to prefer it):", ""]
    for name, row in rows.items():
        interval = mean_interval(_correct(row))
        lines.append(f"- {name}: {interval.estimate:.3f} [{interval.low:.3f}, {interval.high:.3f}]")
    for first, second in BASELINE_PAIRS.items():
        lines += _pair_line(rows, first, second, accuracy=True, after=", paired")
    return lines


def extra_lines(results: dict) -> list[str]:
    """The lines under a task's table: preset variants and baselines paired, and accuracy."""
    return [
        *_paired_lines(
            results, VARIANTS, "Preset variants, minus the pldc row they vary (paired, 95%):"
        ),
        *_paired_lines(results, BASELINE_PAIRS, "Baselines, one minus the other (paired, 95%):"),
        *_accuracy_lines(results),
    ]


def _sittings_note(rows: dict) -> list[str]:
    sittings: dict[str, list[str]] = {}
    for name, row in rows.items():
        sitting = row.get("sitting")
        label = (
            f"{sitting['started']} (pldc {sitting['pldc_commit']}, scoring revision "
            f"{sitting['scoring_revision']})"
            if sitting
            else "earlier sittings, not recorded"
        )
        sittings.setdefault(label, []).append(name)
    if len(sittings) < 2:
        return []
    lines = [
        "",
        "This table was filled over more than one sitting of the command; latency ratios "
        "between rows of different sittings also compare the machine's speed then:",
        "",
    ]
    lines += [f"- {label}: {', '.join(names)}" for label, names in sittings.items()]
    return lines


if __name__ == "__main__":
    main()
