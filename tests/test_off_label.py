"""A reply that names no label (an off-label reply from a generate-and-parse student) counts as
one wrong answer everywhere label scores are read, and is counted in the Scores: it never
poisons calibration, the search, verification, resolution, the gate or the artifact."""

from __future__ import annotations

import json
import math

import pytest
from conftest import KEYWORDS, fake_teacher_reply, toy_task
from test_artifact import make_artifact

import pldc
from pldc.backends import FunctionBackend, parsed_label_scores
from pldc.compiler import compile_task
from pldc.data import load_task_data
from pldc.embed import TfidfEmbedder
from pldc.evaluate import StudentEvaluator, score_predictions
from pldc.records import Rule
from pldc.render import NO_LABEL_SHOWN, render_user_template
from pldc.resolve import resolve_conflicts
from pldc.settings import CompileSettings, ResolveSettings, VerifySettings
from pldc.stats import paired_difference
from pldc.verify import verify_rules

TOY = load_task_data(toy_task(), "toy")
OFF_LABEL_REPLY = "I cannot tell from this ticket."


def ref(example) -> str:
    """The ticket's unique reference, "(ref 7)" for t007."""
    return f"(ref {int(example.id[1:])})"


def reading_student(*odd_examples) -> FunctionBackend:
    """A generate-and-parse student that reads each ticket right, whatever the prompt, and
    replies off-label to the `odd_examples`."""
    odd = [ref(example) for example in odd_examples]

    def reply(messages) -> str:
        ticket = messages[-1]["content"]
        if any(r in ticket for r in odd):
            return OFF_LABEL_REPLY
        found = [label for label, words in KEYWORDS.items() if any(w in ticket for w in words)]
        return f"The answer is {found[0] if found else 'other'}."

    return FunctionBackend(
        score=lambda messages, labels: parsed_label_scores(reply(messages), labels),
        name="reading-student",
    )


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    teacher = FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")
    return compile_task(
        toy_task(),
        teacher=teacher,
        student=reading_student(TOY.dev[0]),
        settings=CompileSettings(token_budget=120, trials=3, seed=0, teacher_examples=6),
        run_dir=tmp_path_factory.mktemp("off_label") / "run",
        embedder=TfidfEmbedder(),
    )


def test_one_off_label_reply_costs_one_wrong_answer_not_the_compile(artifact):
    dev = artifact.scores.dev
    assert dev.accuracy == pytest.approx((dev.n - 1) / dev.n, abs=1e-6)
    assert dev.macro_f1 > 0.9
    assert artifact.scores.baseline_dev.macro_f1 == dev.macro_f1
    assert artifact.scores.test.macro_f1 == 1.0


def test_the_off_label_replies_are_counted_in_every_scores_they_happen_in(artifact):
    scores = artifact.scores
    assert (scores.dev.off_label, scores.baseline_dev.off_label) == (1, 1)
    assert scores.selection.off_label == 1  # dev is part of the selection examples
    assert (scores.test.off_label, scores.baseline_test.off_label) == (0, 0)


def test_calibration_offsets_stay_finite_under_an_off_label_reply(artifact):
    offsets = [
        *artifact.calibration.label_offsets.values(),
        *artifact.scores.baseline_calibration.label_offsets.values(),
    ]
    assert all(math.isfinite(offset) for offset in offsets)


def test_the_artifact_saves_as_strict_json_with_its_off_label_count(artifact, tmp_path):
    path = artifact.save(tmp_path / "a.json")

    raw = json.loads(path.read_text(), parse_constant=pytest.fail)
    assert raw["scores"]["dev"]["off_label"] == 1
    assert "off_label" not in raw["scores"]["test"]  # absent when 0, as in older artifacts
    assert pldc.load(path).artifact == artifact.with_hash()


def test_the_loaded_artifact_predicts_no_label_for_an_off_label_reply(artifact, tmp_path):
    classifier = pldc.load(artifact.save(tmp_path / "a.json"), student=reading_student(TOY.dev[0]))

    assert classifier.predict(**TOY.dev[0].inputs) is None
    assert classifier.predict(**TOY.dev[1].inputs) == TOY.dev[1].label


def test_a_prediction_that_is_no_label_scores_as_wrong_and_is_counted():
    scores = score_predictions(["refund", "bug"], ["refund", None], ["refund", "bug", "other"])

    assert scores.accuracy == 0.5 and scores.off_label == 1
    assert scores.confusion == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert scores.per_class_f1 == {"refund": 1.0, "bug": 0.0, "other": 0.0}


def test_scores_without_an_off_label_reply_keep_their_json_unchanged():
    scores = score_predictions(["refund", "bug"], ["refund", "bug"], ["refund", "bug"])

    assert "off_label" not in scores.model_dump(mode="json")


def test_the_paired_bootstrap_counts_no_label_as_a_wrong_answer():
    gold = ["refund", "bug", "other"] * 4
    difference = paired_difference(gold, [None, *gold[1:]], gold, ["refund", "bug", "other"])

    assert difference.estimate < 0 and math.isfinite(difference.low)


def test_verification_under_off_label_replies_measures_finite_numbers():
    schema = toy_task().schema
    student = reading_student(*TOY.train[:6])
    evaluator = StudentEvaluator(student, schema, render_user_template(schema))
    rule = Rule(
        id="rule-01",
        text="If the ticket mentions refund, the answer is refund.",
        labels=["refund"],
        source_example_ids=["t999"],
        support=1,
    )

    verified = verify_rules(schema, [rule], TOY.train, evaluator, VerifySettings(examples=12))

    found = verified.rules[0].verification
    numbers = [found.gold_logprob_change, found.accuracy_change]
    assert all(math.isfinite(v) for n in numbers for v in (n.mean, n.low, n.high))


def test_resolution_shows_the_teacher_an_off_label_reply_as_none_of_the_labels():
    schema = toy_task().schema
    odd = [ex for ex in TOY.train if ex.label == "refund"]
    evaluator = StudentEvaluator(reading_student(*odd), schema, render_user_template(schema))
    teacher = FunctionBackend(generate=fake_teacher_reply, name="fake-teacher")
    settings = ResolveSettings(token_budget=400, max_rounds=1, examples=30, edits_per_round=4)

    _, record = resolve_conflicts(
        schema, [], evaluator, TOY.train, TOY.dev, teacher.generate, settings
    )

    revisions = record.rounds[0].revisions
    assert revisions and all(revision.predicted is None for revision in revisions)
    shown = [messages[-1]["content"] for kind, messages in teacher.calls]
    assert all(f"Reviewer's answer: {NO_LABEL_SHOWN}\n" in text for text in shown)
    assert not any("Reviewer's answer: None" in text for text in shown)


def test_a_deployed_generate_and_parse_student_predicts_no_label_for_an_off_label_reply():
    artifact = make_artifact()
    scores = parsed_label_scores(OFF_LABEL_REPLY, artifact.prompt.labels)

    assert scores == dict.fromkeys(artifact.prompt.labels, -math.inf)
    student = FunctionBackend(score=lambda messages, labels: scores)
    assert pldc.CompiledClassifier(artifact, student).predict(claim="a taxi fare") is None
