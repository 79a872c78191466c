"""`pldc check`, the drift gate for an app's CI (issue 22 item 3), and `--json` on `eval`,
`check` and `show`: exit 0 on pass, 1 on failure, 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pldc import cli
from pldc.artifact import load_artifact
from pldc.backends import FunctionBackend
from pldc.cli import main

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / "compiled" / "legal_intake.json"
TASK = ROOT / "signatures" / "legal_intake.py"


def always_in_house(messages, labels):
    return {label: (0.0 if label == "in_house" else -30.0) for label in labels}


@pytest.fixture
def fake_student(monkeypatch):
    student = FunctionBackend(score=always_in_house)
    monkeypatch.setattr(cli, "open_recorded_model", lambda identity, **kwargs: student)
    return student


def run(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_check_passes_above_the_floor_and_prints_json_for_machines(fake_student, capsys):
    code, out, _ = run(
        ["check", str(ARTIFACT), str(TASK), "--min-macro-f1", "0.05", "--json"], capsys
    )
    result = json.loads(out)
    assert code == 0 and result["passed"] is True and result["failures"] == []
    # One label predicted for every request: its F1 only, averaged over three labels.
    assert 0.05 < result["macro_f1"] < 1 / 3
    assert result["n"] == load_artifact(ARTIFACT).scores.test.n
    assert result["recorded_macro_f1"] == load_artifact(ARTIFACT).scores.test.macro_f1
    assert result["artifact"]["hash"] == load_artifact(ARTIFACT).content_hash


def test_check_fails_with_exit_1_below_the_floor_or_past_the_drop(fake_student, capsys):
    code, out, _ = run(["check", str(ARTIFACT), str(TASK), "--min-macro-f1", "0.9"], capsys)
    assert code == 1 and "FAIL" in out and "below --min-macro-f1 0.9" in " ".join(out.split())

    code, out, _ = run(["check", str(ARTIFACT), str(TASK), "--max-drop", "0.05", "--json"], capsys)
    result = json.loads(out)
    assert code == 1 and not result["passed"]
    assert result["drop"] == pytest.approx(result["recorded_macro_f1"] - result["macro_f1"])
    assert "more than --max-drop 0.05" in result["failures"][0]

    code, out, _ = run(["check", str(ARTIFACT), str(TASK), "--max-drop", "1"], capsys)
    assert code == 0 and out.startswith("pass ")


def test_check_refuses_other_data_and_bad_thresholds_with_exit_2(tmp_path, capsys, monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("the student was opened")

    monkeypatch.setattr(cli, "open_recorded_model", tripwire)
    source = TASK.read_text()
    moved = tmp_path / "legal_intake.py"
    prelude = f"import sys\nsys.path.insert(0, {str(TASK.parent)!r})\n"
    moved.write_text(prelude + source.replace("seed=0", "seed=1"))

    code, _, err = run(["check", str(ARTIFACT), str(moved)], capsys)
    assert code == 2 and "the data or its split differs" in err.replace("\n", "")

    code, _, err = run(["check", str(ARTIFACT), str(TASK), "--max-drop", "2"], capsys)
    assert code == 2 and "--max-drop 2.0: give a Macro-F1 amount from 0 to 1" in err


def test_eval_and_show_print_json(fake_student, capsys):
    code, out, _ = run(["eval", str(ARTIFACT), str(TASK), "--json"], capsys)
    scores = json.loads(out)
    assert code == 0 and set(scores) >= {"artifact", "macro_f1", "macro_f1_interval", "confusion"}

    code, out, _ = run(["show", str(ARTIFACT), "--json"], capsys)
    summary = json.loads(out)
    artifact = load_artifact(ARTIFACT)
    assert code == 0 and summary["content_hash"] == artifact.content_hash
    assert [c["id"] for c in summary["shipped"]] == [c.id for c in artifact.rules]
    assert summary["gate"]["shipped"] == artifact.gate.shipped


@pytest.mark.real_model
def test_check_on_the_real_student_reproduces_the_recorded_score(capsys):
    pytest.importorskip("llama_cpp")
    # The dev split (89 requests): the test split's 211 would take four times as long.
    code, out, _ = run(
        ["check", str(ARTIFACT), str(TASK), "--split", "dev", "--max-drop", "0.02", "--json"],
        capsys,
    )
    result = json.loads(out)
    assert code == 0, result
    assert result["recorded_macro_f1"] == load_artifact(ARTIFACT).scores.dev.macro_f1
    assert abs(result["drop"]) <= 0.02  # cached and uncached logits differ slightly


def test_show_says_what_the_calibration_was_fitted_on(capsys):
    artifact = load_artifact(ARTIFACT)
    code, out, _ = run(["show", str(ARTIFACT)], capsys)
    fitted = len(artifact.provenance.calibration_example_ids)
    assert (
        code == 0 and f"calibration: batch, fitted on {fitted} inputs (dev, then training)" in out
    )
    first, offset = next(iter(artifact.calibration.label_offsets.items()))
    assert f"{first} {offset:+.3f}" in out

    older = ROOT / "compiled" / "legal_intake-rules_only.json"  # before calibration_examples
    selection = len(load_artifact(older).provenance.selection_example_ids)
    code, out, _ = run(["show", str(older)], capsys)
    assert code == 0 and f"fitted on the {selection} selection examples' inputs" in out
    oldest = ROOT / "compiled" / "expense_claims.json"  # before selection examples
    code, out, _ = run(["show", str(oldest)], capsys)
    assert code == 0 and "fitted on the dev inputs" in out

    code, out, _ = run(["show", str(ARTIFACT), "--json"], capsys)
    calibration = json.loads(out)["calibration"]
    assert calibration["label_offsets"] == artifact.calibration.label_offsets
    assert calibration["example_ids"] == artifact.provenance.calibration_example_ids
