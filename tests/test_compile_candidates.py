"""A compile's candidates, first trials, selection examples and scores, on fake backends: rules
and demonstrations searched together, zero-shot and few-shot tried first, prompts chosen on dev
plus unused training examples, and every score with its 95% interval."""

from __future__ import annotations

import json

import optuna
import pytest
from conftest import fake_student_scores, fake_teacher_reply, toy_task

import pldc
from pldc.backends import FunctionBackend
from pldc.compiler import compile_task
from pldc.data import load_task_data
from pldc.embed import TfidfEmbedder
from pldc.render import EXAMPLES_HEADING, render_candidates, render_demonstration
from pldc.search import fit_to_budget
from pldc.settings import CompileSettings

# Few training examples for resolution and verification, so training examples are left over
# for the selection examples.
SETTINGS = CompileSettings(
    token_budget=120,
    trials=8,
    seed=0,
    teacher_examples=9,
    resolve_examples=8,
    verify_examples=8,
    demonstrations=4,
)
SCHEMA = toy_task().schema
DATA = load_task_data(toy_task(), "toy")
TRAIN = {example.id: example for example in DATA.train}


def compile_toy(run_dir, settings=SETTINGS):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return compile_task(
        toy_task(),
        teacher=FunctionBackend(generate=fake_teacher_reply, name="fake-teacher"),
        student=FunctionBackend(score=fake_student_scores, name="fake-student"),
        settings=settings,
        run_dir=run_dir,
        embedder=TfidfEmbedder(),
    )


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return compile_toy(tmp_path_factory.mktemp("candidates") / "run")


@pytest.fixture(scope="module")
def rules_only(tmp_path_factory):
    settings = CompileSettings(**{**SETTINGS.__dict__, "rules_only": True})
    return compile_toy(tmp_path_factory.mktemp("rules_only") / "run", settings)


def demonstrations_of(candidates):
    return [c for c in candidates if c.kind == "demonstration"]


def test_demonstrations_are_candidates_beside_the_rules(artifact):
    offered = demonstrations_of(artifact.provenance.candidate_rules)

    assert len(offered) == SETTINGS.demonstrations
    assert any(c.kind == "rule" for c in artifact.provenance.candidate_rules)
    for demo in offered:
        source = TRAIN[demo.source_example_ids[0]]
        assert demo.text == render_demonstration(SCHEMA, source.inputs, source.label)
        assert demo.verification is None  # demonstrations are not verified


@pytest.fixture(scope="module")
def rules_then_demonstrations(tmp_path_factory):
    """Every candidate in the pool's order, shipped as searched: rules, then demonstrations."""
    settings = CompileSettings(**{**SETTINGS.__dict__, "sampler": "teacher_order", "gate": False})
    return compile_toy(tmp_path_factory.mktemp("teacher_order") / "run", settings)


def test_the_shipped_demonstrations_follow_the_rules_under_examples(rules_then_demonstrations):
    artifact = rules_then_demonstrations
    shipped = demonstrations_of(artifact.rules)
    assert shipped and len(shipped) < len(artifact.rules)  # rules and demonstrations

    assert artifact.prompt.system == render_candidates(SCHEMA, artifact.rules)
    _, examples = artifact.prompt.system.split(f"\n\n{EXAMPLES_HEADING}\n\n")
    assert examples.startswith("\n\n".join(demo.text for demo in shipped) + "\n\n")


def test_rules_only_offers_no_demonstration_and_no_few_shot_baseline(rules_only):
    assert demonstrations_of(rules_only.provenance.candidate_rules) == []
    assert EXAMPLES_HEADING not in rules_only.prompt.system
    assert not any(i.startswith("demo-") for t in rules_only.provenance.trials for i in t.rule_ids)
    assert rules_only.scores.few_shot_dev is None and rules_only.scores.few_shot_test is None
    assert set(rules_only.gate.baseline_macro_f1) == {"zero-shot"}


def test_the_first_trials_are_zero_shot_then_few_shot_then_every_candidate(artifact):
    candidates = artifact.provenance.candidate_rules
    count = FunctionBackend().count_tokens
    few_shot = fit_to_budget(SCHEMA, demonstrations_of(candidates), count, SETTINGS.token_budget)
    kept_rules = [c for c in candidates if c.kind == "rule" and c.verification.kept]
    every = fit_to_budget(SCHEMA, kept_rules, count, 10_000)

    first, second, third, *_ = artifact.provenance.trials

    assert first.rule_ids == []
    assert second.rule_ids == [demo.id for demo in few_shot.rules]
    assert third.rule_ids[: len(every.rules)] == [rule.id for rule in every.rules]


def test_the_first_trials_of_a_rules_only_search_are_zero_shot_then_every_rule(rules_only):
    rules = [c.id for c in rules_only.provenance.candidate_rules if c.verification.kept]

    first, second, *_ = rules_only.provenance.trials

    assert first.rule_ids == [] and second.rule_ids == rules


def test_selection_examples_are_dev_then_training_examples_no_stage_used(artifact):
    provenance = artifact.provenance
    used = {trace.example_id for trace in provenance.teacher_traces}
    for demo in demonstrations_of(provenance.candidate_rules):
        used |= set(demo.source_example_ids)
    used |= set(provenance.resolution.example_ids) | set(provenance.verification_example_ids)

    searched_on = provenance.selection_example_ids
    held = provenance.gate_example_ids or []
    selection = [*searched_on, *held]  # the gate's examples are the selection's last
    dev_ids = [example.id for example in DATA.dev]

    assert selection[: len(dev_ids)] == dev_ids
    extra = selection[len(dev_ids) :]
    assert extra and set(extra) <= set(TRAIN) - used
    assert len(extra) == min(len(set(TRAIN) - used), SETTINGS.selection_examples - len(dev_ids))
    assert not set(held) & set(searched_on)
    assert len(searched_on) >= 20  # the search keeps at least MIN_SEARCH_EXAMPLES
    assert artifact.scores.selection.n == len(searched_on)
    assert artifact.gate.examples == len(held or searched_on)


def test_selection_examples_hold_all_of_dev_even_when_fewer_are_asked_for(tmp_path):
    settings = CompileSettings(**{**SETTINGS.__dict__, "selection_examples": 4, "trials": 2})

    artifact = compile_toy(tmp_path / "run", settings)

    assert artifact.provenance.selection_example_ids == [example.id for example in DATA.dev]


def test_every_score_of_a_fresh_artifact_has_its_95_percent_interval(artifact):
    scores = artifact.scores
    every = [scores.dev, scores.test, scores.baseline_dev, scores.baseline_test]
    every += [scores.selection, scores.few_shot_dev, scores.few_shot_test]

    for measured in every:
        interval = measured.macro_f1_interval
        assert interval is not None and interval.confidence == 0.95
        assert interval.estimate == measured.macro_f1
        assert interval.low <= interval.estimate <= interval.high
    for gain in (scores.test_gain_over_baseline, scores.test_gain_over_few_shot):
        assert gain.low <= gain.estimate <= gain.high


def test_loading_a_version_3_artifact_reproduces_the_shipped_prompt_byte_for_byte(
    artifact, tmp_path
):
    path = artifact.save(tmp_path / "toy.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    ticket = "hello team, error message, thanks"

    classifier = pldc.load(path, student=FunctionBackend(score=fake_student_scores))

    assert raw["schema_version"] == 3 and raw["gate"]["shipped"] == "searched"
    assert classifier.artifact == artifact
    system, user = classifier.messages(ticket=ticket)
    assert system["content"].encode() == artifact.prompt.system.encode()
    assert raw["prompt"]["system"].encode() == artifact.prompt.system.encode()
    assert user["content"] == f"Ticket: {ticket}"
