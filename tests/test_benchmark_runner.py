"""benchmarks/run.py against the real local models on a tiny slice: rows run, are recorded
with their costs, and a rerun resumes instead of recomputing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pldc.evaluate import SCORING_REVISION

ROOT = Path(__file__).resolve().parent.parent
ROWS = "student zero-shot,student zero-shot (dspy.Predict)"

pytestmark = pytest.mark.real_model


def run(out: Path, rows: str = ROWS) -> subprocess.CompletedProcess:
    command = [sys.executable, "benchmarks/run.py", "signatures/expense_claims.py"]
    command += ["--test", "4", "--rows", rows, "--out", str(out), "--calibration-examples", "50"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_rows_are_recorded_with_costs_and_a_rerun_resumes(tmp_path):
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    results = json.loads((tmp_path / "expense_claims.json").read_text())
    assert results["config"]["test"] == 4
    zero_shot = results["rows"]["student zero-shot"]
    predict = results["rows"]["student zero-shot (dspy.Predict)"]
    # Calibration scores all of dev, then training inputs, once each; the DSPy program
    # compiles nothing.
    assert results["config"]["calibration_examples"] == 50 > results["config"]["dev"]
    assert zero_shot["compile_student"]["calls"] == 50
    assert predict["compile_student"]["calls"] == 0
    assert predict["decoding"].startswith("generate")
    for row in (zero_shot, predict):
        assert 0.0 <= row["test_macro_f1"] <= 1.0
        assert row["compile_teacher"]["calls"] == 0
        assert row["prompt_tokens"] > 0 and row["latency_median_seconds"] > 0
        assert sum(map(sum, row["confusion"])) == 4 - row["unparsed"]
    # One sitting ran both rows, so the table needs no note on sittings.
    assert zero_shot["sitting"] == predict["sitting"]
    assert zero_shot["sitting"]["scoring_revision"] == SCORING_REVISION
    table = (tmp_path / "expense_claims.md").read_text()
    assert "same test slice of **4 examples**" in table and "| student zero-shot |" in table
    assert "sittings" not in table

    second = run(tmp_path)
    assert second.returncode == 0 and "every row is done" in second.stdout
    assert json.loads((tmp_path / "expense_claims.json").read_text()) == results


def test_an_unknown_row_is_named_with_the_choices(tmp_path):
    result = run(tmp_path, rows="student zero-shot,magic")
    assert result.returncode != 0
    assert "unknown rows ['magic']" in result.stderr and "pldc PLD" in result.stderr
