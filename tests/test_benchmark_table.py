"""benchmarks/run.py's Markdown table says when its rows come from different sittings."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import pytest
import run as benchmark_run


def row(latency: float, sitting: dict | None) -> dict:
    usage = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    recorded = {
        "answered_by": "student",
        "decoding": "label log-likelihood",
        "notes": [],
        "test_macro_f1": 0.5,
        "test_accuracy": 0.5,
        "unparsed": 0,
        "prompt_tokens": 10,
        "compile_teacher": usage,
        "compile_student": usage,
        "compile_seconds": 0.0,
        "latency_median_seconds": latency,
    }
    return {**recorded, "sitting": sitting} if sitting else recorded


def sitting(started: str, commit: str) -> dict:
    return {"started": started, "pldc_commit": commit, "scoring_revision": 4}


def table(tmp_path: Path, rows: dict) -> str:
    config = {"task": "toy", "task_file": "toy.py", "test": 4, "train": 24, "dev": 8}
    config |= {"budget": 512, "seed": 0, "teacher": "t", "student": "s"}
    benchmark_run._write_markdown(
        tmp_path / "toy.json", {"config": config, "machine": "m", "rows": rows}
    )
    return (tmp_path / "toy.md").read_text()


def test_rows_of_one_sitting_need_no_note(tmp_path):
    first = sitting("2026-11-24T01:00:00+00:00", "abc")
    text = table(
        tmp_path, {"student chain of thought": row(2.0, first), "pldc PLD": row(1.0, first)}
    )

    assert "| pldc PLD |" in text and "0.50×" in text
    assert "sittings" not in text


def test_rows_of_several_sittings_are_listed_by_sitting(tmp_path):
    rows = {
        "student zero-shot": row(1.0, None),
        "student chain of thought": row(2.0, sitting("2026-11-23T09:00:00+00:00", "abc")),
        "pldc PLD": row(1.0, sitting("2026-11-24T01:00:00+00:00", "def+changes")),
    }

    text = table(tmp_path, rows)

    assert "filled over more than one sitting" in text
    assert "- earlier sittings, not recorded: student zero-shot" in text
    assert "- 2026-11-24T01:00:00+00:00 (pldc def+changes, scoring revision 4): pldc PLD" in text


def predicted_row(gold: list[str], predicted: list[str]) -> dict:
    return {
        **row(1.0, None),
        "test_ids": [f"t{i}" for i in range(len(gold))],
        "test_gold": gold,
        "test_predictions": predicted,
        "labels": ["a", "b"],
    }


def test_rows_with_predictions_carry_intervals_and_paired_pldc_differences(tmp_path):
    gold = ["a", "b"] * 30
    half_right = ["a"] * 60
    rows = {
        "student zero-shot": predicted_row(gold, half_right),
        "student few-shot": row(1.0, None),  # from before predictions were kept
        "pldc PLD": predicted_row(gold, gold),
        "pldc rules-only": predicted_row(gold, half_right),
    }
    results = {"config": {"task": "toy"}, "rows": rows}

    found = benchmark_run.intervals(results)

    assert set(found) == {"student zero-shot", "pldc PLD", "pldc rules-only"}
    assert found["pldc PLD"]["metric"].estimate == 1.0
    versus = found["student zero-shot"]["pldc PLD"]
    assert versus.estimate == pytest.approx(1.0 - 1 / 3, abs=1e-6) and versus.low > 0
    assert found["student zero-shot"]["pldc rules-only"].estimate == 0.0
    assert "pldc PLD" not in found["pldc PLD"]  # a row is not compared with itself
    text = table(tmp_path, rows)
    assert "| student few-shot | student | 0.500 | — | — |" in text
    assert "| pldc PLD | student | 1.000 [1.000, 1.000] | — | -0.667 [" in text


def test_accuracy_tasks_compare_the_mean_of_right_answers(tmp_path):
    gold = ["a", "b"] * 30
    rows = {
        "student zero-shot": predicted_row(gold, ["a"] * 60),
        "pldc PLD": predicted_row(gold, gold),
    }

    found = benchmark_run.intervals({"config": {"task": "logiqa"}, "rows": rows})

    assert found["student zero-shot"]["metric"].estimate == 0.5
    assert found["student zero-shot"]["pldc PLD"].estimate == 0.5


def test_few_shot_is_paired_with_zero_shot_and_macro_f1_tables_list_accuracy(tmp_path):
    gold = ["a", "b"] * 30
    rows = {
        "student zero-shot": predicted_row(gold, ["a"] * 60),
        "student few-shot": predicted_row(gold, gold),
    }

    text = table(tmp_path, rows)

    assert "Baselines, one minus the other (paired, 95%):" in text
    assert "- student few-shot − student zero-shot: +0.667 [" in text
    assert (
        "- student zero-shot: 0.500 [" in text
        and "- student few-shot: 1.000 [1.000, 1.000]" in text
    )


def test_accuracy_tables_do_not_list_accuracy_twice(tmp_path):
    gold = ["a", "b"] * 30
    rows = {"student zero-shot": predicted_row(gold, ["a"] * 60)}
    config = {"task": "logiqa", "task_file": "logiqa.py", "test": 60, "train": 24, "dev": 8}
    config |= {"budget": 512, "seed": 0, "teacher": "t", "student": "s"}
    benchmark_run._write_markdown(
        tmp_path / "logiqa.json", {"config": config, "machine": "m", "rows": rows}
    )

    assert "Test accuracy [95% CI]" not in (tmp_path / "logiqa.md").read_text()
