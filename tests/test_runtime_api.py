"""The runtime API (issue 22 item 1): `predict_proba`, `predict_batch`, and calls from several
threads, on a fake student (unit) and on the real student with the committed demo artifact."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_artifact import make_artifact

import pldc
from pldc.backends import FunctionBackend

ROOT = Path(__file__).resolve().parent.parent


class OneAtATime(FunctionBackend):
    """A fake student that fails if two threads are ever inside `score` at once."""

    def __init__(self) -> None:
        super().__init__(score=self._score)
        self.inside = 0
        self.overlaps = 0
        self.barrier = threading.Event()

    def _score(self, messages, labels):
        self.inside += 1
        if self.inside > 1:
            self.overlaps += 1
        self.barrier.wait(0.002)  # give another thread the chance to come in
        claim = messages[-1]["content"]
        self.inside -= 1
        return {label: (0.0 if label in claim else -2.0) for label in labels}


@pytest.fixture
def classifier(tmp_path):
    return pldc.load(make_artifact().save(tmp_path / "a.json"), student=OneAtATime())


def test_predict_proba_is_the_calibrated_softmax_and_agrees_with_predict(classifier):
    labels = classifier.labels
    probabilities = classifier.predict_proba(claim=f"please {labels[1]} this")
    assert list(probabilities) == labels
    assert math.isclose(sum(probabilities.values()), 1.0)
    offsets = classifier.artifact.calibration.label_offsets
    scores = classifier.scores(claim=f"please {labels[1]} this")
    calibrated = {label: scores[label] + offsets[label] for label in labels}
    top = max(calibrated.values())
    total = sum(math.exp(value - top) for value in calibrated.values())
    for label in labels:
        assert probabilities[label] == pytest.approx(math.exp(calibrated[label] - top) / total)
    assert max(probabilities, key=probabilities.get) == classifier.predict(
        claim=f"please {labels[1]} this"
    )


def test_predict_batch_is_predict_for_each_item_in_order(classifier):
    batch = [{"claim": f"item {i} says {label}"} for i, label in enumerate(classifier.labels * 3)]
    assert classifier.predict_batch(batch) == [classifier.predict(**item) for item in batch]
    assert classifier.predict_batch([]) == []


def test_a_bad_batch_item_is_named_before_the_student_runs(classifier):
    student = classifier.student
    with pytest.raises(pldc.DataError, match=r"batch item 1: input field\(s\) \['claim'\]"):
        classifier.predict_batch([{"claim": "fine"}, {"claim": "  "}])
    with pytest.raises(pldc.DataError, match=r"batch item 0: .*unknown \['clam'\]"):
        classifier.predict_batch([{"clam": "typo"}])
    assert student.calls == []


def test_calls_from_many_threads_never_overlap_in_the_student(classifier):
    labels = classifier.labels
    inputs = [{"claim": f"claim {i} {labels[i % len(labels)]}"} for i in range(60)]
    expected = [classifier.predict(**item) for item in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        predicted = list(pool.map(lambda item: classifier.predict(**item), inputs))
        probabilities = list(pool.map(lambda item: classifier.predict_proba(**item), inputs))
    assert predicted == expected
    assert all(math.isclose(sum(p.values()), 1.0) for p in probabilities)
    assert classifier.student.overlaps == 0


def test_an_off_label_reply_has_no_probability_mass(tmp_path):
    student = FunctionBackend(score=lambda messages, labels: dict.fromkeys(labels, -math.inf))
    classifier = pldc.load(make_artifact().save(tmp_path / "a.json"), student=student)
    assert set(classifier.predict_proba(claim="anything").values()) == {0.0}
    assert classifier.predict(claim="anything") is None


@pytest.mark.real_model
def test_the_real_student_answers_the_same_from_eight_threads_as_alone():
    pytest.importorskip("llama_cpp")
    classifier = pldc.load(ROOT / "compiled" / "legal_intake.json")
    requests = [
        "Please review the NDA the supplier sent for the new warehouse deal.",
        "A customer claims our app infringes their patent; they sent a letter.",
        "Can I use the standard template for renewing the office cleaning contract?",
        "An employee is relocating abroad and needs a work permit.",
    ] * 4
    alone = [classifier.predict_proba(request=text) for text in requests]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda text: classifier.predict_proba(request=text), requests))
    for one, other in zip(alone, together, strict=True):
        assert one == pytest.approx(other, abs=1e-3)  # cached and uncached logits differ slightly
        assert sum(one.values()) == pytest.approx(1.0)
    batch = classifier.predict_batch([{"request": text} for text in requests])
    assert batch == [max(p, key=p.get) for p in alone]
