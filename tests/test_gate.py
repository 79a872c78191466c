"""The final gate (pldc.gate): the searched prompt ships only if it clearly beats every
baseline on the selection examples, by mean gold-label log-probability and without a lower
Macro-F1; otherwise the best baseline ships, and the artifact says why."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import optuna
import pytest
from conftest import (
    TicketTriage,
    fake_student_scores,
    fake_teacher_reply,
    ticket_records,
    toy_task,
)

import pldc
from pldc.backends import FunctionBackend
from pldc.compiler import compile_task
from pldc.embed import TfidfEmbedder
from pldc.gate import Scored, gate
from pldc.records import GateRecord
from pldc.render import render_candidates
from pldc.settings import CompileSettings

LABELS = ["a", "b"]
GOLD = ["a", "b"] * 20
ALL_A = ["a"] * 40


def with_errors(predicted: list[str], positions: range) -> list[str]:
    flip = {"a": "b", "b": "a"}
    return [flip[p] if i in positions else p for i, p in enumerate(predicted)]


def scored(predicted: list[str], confidence: float) -> Scored:
    """`predicted`, with the gold label's log-probability log(confidence) where right and
    log(1 - confidence) where wrong, jittered so that no two examples are alike."""
    return Scored(
        predicted,
        [
            math.log(confidence if p == g else 1 - confidence) - 0.001 * (i % 7)
            for i, (p, g) in enumerate(zip(predicted, GOLD, strict=True))
        ],
    )


def test_a_searched_prompt_that_clearly_beats_every_baseline_ships():
    record = gate(GOLD, LABELS, scored(GOLD, 0.8), {"zero-shot": scored(ALL_A, 0.6)})

    assert record.shipped == "searched" and record.statistic == "gold_log_prob"
    assert record.gold_log_prob_difference.low > 0 and record.difference.low > 0
    assert record.examples == 40 and record.best_baseline == "zero-shot"
    assert record.searched_macro_f1 == 1.0
    assert record.searched_gold_log_prob == pytest.approx(math.log(0.8) - 0.001 * 2.85, abs=0.01)
    assert record.reason.startswith("the searched prompt beats zero-shot on 40 selection examples")


def test_a_gain_in_macro_f1_whose_log_probability_gain_is_not_clear_ships_the_baseline():
    """The Macro-F1 gain is real here, but the gate decides on the log-probabilities: the
    searched prompt is right more often, yet hardly more confident in the gold label."""
    searched = Scored(GOLD, [math.log(0.51) - 0.01 * (i % 5) for i in range(40)])
    nearly = with_errors(GOLD, range(10))
    baseline = Scored(
        nearly,
        [math.log(0.5 if i < 10 else 0.52) - 0.01 * (i % 3) for i in range(40)],
    )
    record = gate(GOLD, LABELS, searched, {"zero-shot": scored(ALL_A, 0.4), "few-shot": baseline})

    assert record.shipped == "few-shot" == record.best_baseline
    assert record.difference.low > 0  # Macro-F1 alone would have shipped it
    assert record.gold_log_prob_difference.low <= 0
    assert record.reason.startswith("the searched prompt does not clearly beat few-shot")
    interval = record.gold_log_prob_difference
    assert f"[{interval.low:+.3f}, {interval.high:+.3f}]" in record.reason


def test_a_log_probability_gain_with_a_lower_macro_f1_does_not_ship():
    worse = with_errors(GOLD, range(4))
    searched = Scored(worse, [-0.1 - 0.001 * i for i in range(40)])
    record = gate(GOLD, LABELS, searched, {"zero-shot": Scored(GOLD, [-0.6] * 40)})

    assert record.gold_log_prob_difference.low > 0 and record.difference.estimate < 0
    assert record.shipped == "zero-shot"


def test_the_searched_prompt_must_beat_every_baseline_not_only_the_best():
    nearly = with_errors(GOLD, range(4))
    searched = Scored(nearly, [-0.2 - 0.001 * i for i in range(40)])
    baselines = {
        "zero-shot": Scored(with_errors(GOLD, range(8)), [-0.5 - 0.001 * i for i in range(40)]),
        "few-shot": Scored(GOLD, [-0.68 - 0.001 * i for i in range(40)]),
    }
    record = gate(GOLD, LABELS, searched, baselines)

    assert record.best_baseline == "zero-shot"  # the higher mean log-probability, beaten ...
    assert record.gold_log_prob_difference.low > 0 and record.difference.estimate > 0
    assert record.shipped == "zero-shot"  # ... but few-shot has the higher Macro-F1
    assert "does not clearly beat few-shot" in record.reason


def test_of_equally_good_baselines_zero_shot_is_the_one_compared_and_shipped():
    same = scored(ALL_A, 0.6)
    record = gate(GOLD, LABELS, same, {"few-shot": same, "zero-shot": same})

    assert record.best_baseline == record.shipped == "zero-shot"


def test_with_the_gate_off_the_searched_prompt_ships_and_the_comparison_is_kept():
    record = gate(GOLD, LABELS, scored(ALL_A, 0.6), {"zero-shot": scored(GOLD, 0.8)}, enabled=False)

    assert record.shipped == "searched"
    assert record.difference.high < 0 and record.gold_log_prob_difference.high < 0
    assert "gate off, shipped anyway" in record.reason


def test_a_searched_prompt_that_is_a_baseline_ships_as_searched_without_a_difference():
    same = scored(ALL_A, 0.6)
    record = gate(GOLD, LABELS, same, {"zero-shot": same}, searched_is="zero-shot")

    assert record.shipped == "searched" and record.difference is None
    assert record.gold_log_prob_difference is None
    assert record.reason == "the search's best prompt is the zero-shot baseline itself"


@pytest.mark.parametrize(
    ("searched", "baselines"),
    [
        (scored(GOLD, 0.8), {}),
        (Scored(GOLD[:-1], [0.0] * 39), {"zero-shot": scored(ALL_A, 0.6)}),
        (scored(GOLD, 0.8), {"zero-shot": Scored(ALL_A, [0.0] * 39)}),
    ],
    ids=["no baseline", "short searched", "short log-probabilities"],
)
def test_no_baseline_or_scores_of_another_length_are_refused(searched, baselines):
    with pytest.raises(ValueError):
        gate(GOLD, LABELS, searched, baselines)


def test_a_record_from_before_the_log_probability_gate_keeps_its_json():
    old = {
        "shipped": "searched",
        "examples": 40,
        "searched_macro_f1": 1.0,
        "baseline_macro_f1": {"zero-shot": 0.5},
        "best_baseline": "zero-shot",
        "difference": None,
        "reason": "r",
    }
    record = GateRecord.model_validate(old)

    assert record.statistic == "macro_f1"
    assert record.model_dump(mode="json") == old


def guessing_scores(messages, labels) -> dict[str, float]:
    """A student whose label scores are a hash of the messages: no prompt really helps it."""
    digest = hashlib.sha256(json.dumps(messages).encode()).digest()
    return {label: -float(digest[i] % 7) for i, label in enumerate(labels)}


# The gate reuses the search's examples here (gate_examples=0), so the searched prompt it
# judges is one the search found best on them; the held-out gate has its own test below.
GUESSING = CompileSettings(token_budget=120, trials=8, seed=1, teacher_examples=9, gate_examples=0)


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

    zero_shot = artifact.provenance.trials[0]
    assert not zero_shot.rule_ids
    assert best.rule_ids  # the search's best prompt is neither baseline ...
    assert best.dev_macro_f1 > zero_shot.dev_macro_f1
    shipped = artifact.gate.shipped
    assert shipped == artifact.gate.best_baseline in ("zero-shot", "few-shot")  # ... yet loses
    assert "does not clearly beat" in artifact.gate.reason
    demonstrations = [r for r in artifact.provenance.candidate_rules if r.kind == "demonstration"]
    # few-shot: the demonstrations that fit the budget, in order
    expected = [] if shipped == "zero-shot" else demonstrations[: len(artifact.rules)]
    assert [rule.id for rule in artifact.rules] == [rule.id for rule in expected]
    assert artifact.prompt.system == render_candidates(toy_task().schema, expected)
    if shipped == "zero-shot":
        assert artifact.scores.dev == artifact.scores.baseline_dev
        assert artifact.scores.test == artifact.scores.baseline_test
    else:
        assert artifact.scores.dev == artifact.scores.few_shot_dev
        assert artifact.scores.test == artifact.scores.few_shot_test


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

    assert saved["gate"]["shipped"] == artifact.gate.best_baseline
    assert saved["gate"]["statistic"] == "gold_log_prob"
    assert saved["gate"]["reason"] == artifact.gate.reason


def test_the_gate_decides_on_selection_examples_the_search_never_saw(tmp_path):
    settings = CompileSettings(token_budget=120, trials=4, seed=1, teacher_examples=9)
    task = pldc.Task(
        signature=TicketTriage,
        data=ticket_records(200),
        splits=pldc.Splits(train=0.5, dev=0.25, test=0.25, seed=0),
        name="ticket_triage",
    )
    artifact = compile_task(
        task,
        teacher=FunctionBackend(generate=fake_teacher_reply, name="fake-teacher"),
        student=FunctionBackend(score=fake_student_scores, name="fake-student"),
        settings=settings,
        run_dir=tmp_path / "run",
        embedder=TfidfEmbedder(),
    )

    searched_on = artifact.provenance.selection_example_ids
    held = artifact.provenance.gate_example_ids
    assert held and not set(held) & set(searched_on)
    assert len(searched_on) >= 20  # the search keeps at least MIN_SEARCH_EXAMPLES
    assert artifact.gate.examples == len(held)
    assert all(t.dev_examples == len(searched_on) for t in artifact.provenance.trials)
    assert f"on {len(held)} held-out selection examples" in artifact.gate.reason
