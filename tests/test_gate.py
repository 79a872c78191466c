"""The final gate (pldc.gate): the searched prompt ships only if it clearly beats the best
baseline on the selection examples; otherwise that baseline ships, and the artifact says why."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import optuna
import pytest
from conftest import fake_teacher_reply, toy_task

from pldc.backends import FunctionBackend
from pldc.compiler import compile_task
from pldc.embed import TfidfEmbedder
from pldc.gate import gate
from pldc.render import render_candidates
from pldc.settings import CompileSettings

LABELS = ["a", "b"]
GOLD = ["a", "b"] * 20
ALL_A = ["a"] * 40


def with_errors(predicted: list[str], positions: range) -> list[str]:
    flip = {"a": "b", "b": "a"}
    return [flip[p] if i in positions else p for i, p in enumerate(predicted)]


def test_a_searched_prompt_that_clearly_beats_every_baseline_ships():
    record = gate(GOLD, LABELS, GOLD, {"zero-shot": ALL_A})

    assert record.shipped == "searched"
    assert record.difference.low > 0
    assert record.examples == 40 and record.best_baseline == "zero-shot"
    assert record.searched_macro_f1 == 1.0
    assert record.reason.startswith("the searched prompt beats zero-shot on 40 selection examples")


def test_a_searched_prompt_that_does_not_clearly_win_loses_to_the_baseline_and_says_why():
    nearly = with_errors(GOLD, range(2))  # the baseline errs on two examples
    record = gate(GOLD, LABELS, GOLD, {"zero-shot": ALL_A, "few-shot": nearly})

    assert record.shipped == "few-shot" == record.best_baseline
    assert record.difference.estimate > 0 and record.difference.low <= 0
    assert record.reason.startswith("the searched prompt does not clearly beat few-shot")
    assert f"[{record.difference.low:+.3f}, {record.difference.high:+.3f}]" in record.reason


def test_of_equally_good_baselines_zero_shot_is_the_one_compared_and_shipped():
    record = gate(GOLD, LABELS, ALL_A, {"few-shot": ALL_A, "zero-shot": ALL_A})

    assert record.best_baseline == record.shipped == "zero-shot"


def test_with_the_gate_off_the_searched_prompt_ships_and_the_comparison_is_kept():
    record = gate(GOLD, LABELS, ALL_A, {"zero-shot": GOLD}, enabled=False)

    assert record.shipped == "searched"
    assert record.difference.high < 0
    assert "gate off, shipped anyway" in record.reason


def test_a_searched_prompt_that_is_a_baseline_ships_as_searched_without_a_difference():
    record = gate(GOLD, LABELS, ALL_A, {"zero-shot": ALL_A}, searched_is="zero-shot")

    assert record.shipped == "searched" and record.difference is None
    assert record.reason == "the search's best prompt is the zero-shot baseline itself"


@pytest.mark.parametrize(
    ("searched", "baselines"),
    [(GOLD, {}), (GOLD[:-1], {"zero-shot": ALL_A}), (GOLD, {"zero-shot": ALL_A[:-1]})],
    ids=["no baseline", "short searched", "short baseline"],
)
def test_no_baseline_or_predictions_of_another_length_are_refused(searched, baselines):
    with pytest.raises(ValueError):
        gate(GOLD, LABELS, searched, baselines)


def guessing_scores(messages, labels) -> dict[str, float]:
    """A student whose label scores are a hash of the messages: no prompt really helps it."""
    digest = hashlib.sha256(json.dumps(messages).encode()).digest()
    return {label: -float(digest[i] % 7) for i, label in enumerate(labels)}


GUESSING = CompileSettings(token_budget=120, trials=8, seed=1, teacher_examples=9)


@pytest.fixture(scope="module")
def guessed(tmp_path_factory):
    """A compile for the guessing student, and the same compile with the gate off."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_dir = tmp_path_factory.mktemp("gate") / "run"

    def run(settings):
        return compile_task(
            toy_task(),
            teacher=FunctionBackend(generate=fake_teacher_reply, name="fake-teacher"),
            student=FunctionBackend(score=guessing_scores, name="guessing-student"),
            settings=settings,
            run_dir=run_dir,
            embedder=TfidfEmbedder(),
        )

    gated = run(GUESSING)
    ungated = run(CompileSettings(**{**GUESSING.__dict__, "gate": False}))
    return gated, ungated


def test_a_compile_whose_search_does_not_clearly_win_ships_the_best_baseline(guessed):
    artifact, _ = guessed
    best = max(artifact.provenance.trials, key=lambda t: (t.dev_macro_f1, -t.tokens))

    assert best.rule_ids  # the search's best prompt is neither baseline ...
    assert best.dev_macro_f1 > artifact.gate.baseline_macro_f1["zero-shot"]
    assert artifact.gate.shipped == "zero-shot" == artifact.gate.best_baseline  # ... yet loses
    assert artifact.gate.difference.low <= 0
    assert "does not clearly beat zero-shot" in artifact.gate.reason
    assert artifact.rules == []
    assert artifact.prompt.system == render_candidates(toy_task().schema, [])
    assert artifact.scores.dev == artifact.scores.baseline_dev
    assert artifact.scores.test == artifact.scores.baseline_test


def test_the_same_compile_with_the_gate_off_ships_the_searched_prompt(guessed):
    gated, ungated = guessed

    assert ungated.gate.shipped == "searched"
    assert "gate off, shipped anyway" in ungated.gate.reason
    assert ungated.rules and ungated.prompt.system != gated.prompt.system
    assert ungated.gate.difference == gated.gate.difference
    assert ungated.provenance.trials == gated.provenance.trials  # the gate reran no search


def test_a_gated_artifact_saves_and_loads_with_its_decision(guessed, tmp_path):
    artifact, _ = guessed
    path = artifact.save(tmp_path / "gated.json")

    saved = json.loads(Path(path).read_text())

    assert saved["gate"]["shipped"] == "zero-shot"
    assert saved["gate"]["reason"] == artifact.gate.reason
