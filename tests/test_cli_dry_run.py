"""`pldc compile --dry-run` (issue 21, item 7): each stage's calls and tokens, and for a
provider-hosted model its price, printed without calling any model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pldc.backends
import pldc.cli
from pldc.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "signatures" / "legal_intake.py"


@pytest.fixture(autouse=True)
def no_model_may_open(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("--dry-run opened a model")

    monkeypatch.setattr(pldc.cli, "open_model", refuse)
    monkeypatch.setattr(pldc.backends, "open_model", refuse)


def run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out + err


def row(out: str, stage: str) -> list[int]:
    line = next(line for line in out.splitlines() if line.startswith(f"│ {stage}"))
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line)]


def test_a_dry_run_counts_each_stage_from_the_settings_and_exits_0(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out = run(
        ["compile", str(DEMO), "--dry-run", "--trials", "5", "--teacher", "openai/gpt-4o-mini",
         "--student", "openai/gpt-4o-mini"],
        capsys,
    )  # fmt: skip

    assert code == 0
    assert row(out, "teacher extraction")[0] == 24
    search = row(out, "search")
    # trials times the 200 selection examples the search scores (100 are held for the gate)
    assert search[:4] == [0, 0, 0, 5 * 200]
    assert search[4] > 5 * 200 * 100  # each call holds at least the scaffold and the case
    assert row(out, "final gate")[3] == 3 * 100  # searched, zero-shot, few-shot on the 100
    assert "no model was called" in out
    assert out.count("at litellm's listed price") == 2


def test_rule_evidence_is_bounded_by_every_candidate_left_out_once(capsys, monkeypatch):
    """Each shipped rule or demonstration is left out once and the prompt without it scored
    on the search's 200 selection examples (calibration) and the 89 dev examples; at most 24
    teacher rules and 64 demonstrations can ship."""
    monkeypatch.setenv("COLUMNS", "200")
    code, out = run(
        ["compile", str(DEMO), "--dry-run", "--rule-evidence", "--teacher", "openai/gpt-4o-mini",
         "--student", "openai/gpt-4o-mini"],
        capsys,
    )  # fmt: skip

    assert code == 0
    assert row(out, "rule evidence")[3] == (24 + 64) * (200 + 89)


@pytest.mark.parametrize(
    ("preset", "per_prompt"),
    [
        ("", 389 + 211),  # every dev and training input (89 + 300), then the 211 test cases
        ("calibration_examples = 150\n", 150 + (200 - 89) + 211),  # and the selection's train
        ("calibration_examples = 10\n", 200 + 211),  # fewer than dev: the selection's alone
        ('calibration = "none"\n', 200 + 211),  # nothing fitted, nothing extra scored
    ],
)
def test_the_final_evaluation_counts_calibration_inputs_once(
    preset, per_prompt, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "200")
    optimizer = tmp_path / "preset.toml"
    optimizer.write_text(preset)
    code, out = run(
        ["compile", str(DEMO), "--dry-run", "--optimizer", str(optimizer), "--teacher",
         "openai/gpt-4o-mini", "--student", "openai/gpt-4o-mini"],
        capsys,
    )  # fmt: skip

    assert code == 0
    # the shipped prompt, zero-shot and few-shot
    assert row(out, "final evaluation")[3] == 3 * per_prompt


@pytest.mark.real_model
def test_a_dry_run_counts_local_models_with_their_own_tokenizers(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out = run(["compile", str(DEMO), "--dry-run", "--rules-only"], capsys)

    assert code == 0
    assert "gguf:qwen2.5-coder-0.5b-instruct-q4_k_m@" in out.replace("\n", "")
    assert out.count("no API fee") == 2
    assert row(out, "final gate")[3] == 2 * 100  # rules only: searched and zero-shot


def test_a_dry_run_of_a_served_model_without_its_tokenizer_stops_before_anything(capsys):
    code, out = run(
        ["compile", str(DEMO), "--dry-run", "--student", "openai/m",
         "--student-api-base", "http://127.0.0.1:9/v1"],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "give --student-tokenizer" in out


def test_a_dry_run_refuses_what_a_compile_refuses(capsys):
    code, out = run(["compile", str(DEMO), "--dry-run", "--budget", "40", "--teacher",
                     "openai/gpt-4o-mini", "--student", "openai/gpt-4o-mini"], capsys)  # fmt: skip
    assert code == 2 and "cannot hold the prompt scaffold" in out
    code, out = run(["compile", str(DEMO), "--dry-run", "--student-api-base",
                     "http://127.0.0.1:9/v1"], capsys)  # fmt: skip
    assert code == 2 and "is a local model, which runs in-process" in out


def test_no_request_in_flight_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["compile", str(DEMO), "--dry-run", "--concurrency", "0"])
    assert exited.value.code == 2
    assert "--concurrency: 0: give 1 or more" in capsys.readouterr().err
