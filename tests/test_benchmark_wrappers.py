"""benchmarks/wrappers.py: the naive baselines and counters wrap pldc's own objects, and a
wrapped object answers exactly as the one it wraps."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import fake_student_scores, toy_task

from pldc.backends import FunctionBackend
from pldc.data import load_task_data
from pldc.evaluate import StudentEvaluator
from pldc.render import render_system_prompt, render_user_template

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from wrappers import ColdCacheBackend, CountingBackend, MemolessEvaluator

MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "a refund"}]
LABELS = ["refund", "bug", "other"]


class CachingBackend(FunctionBackend):
    """A fake model that logs each call and each time it is told to forget its cache."""

    def __init__(self) -> None:
        super().__init__(generate=lambda m: "refund", score=fake_student_scores)
        self.log: list[str] = []

    def generate(self, messages, *, max_tokens=256):
        self.log.append("generate")
        return super().generate(messages, max_tokens=max_tokens)

    def score(self, messages, labels):
        self.log.append("score")
        return super().score(messages, labels)

    def forget_cache(self) -> None:
        self.log.append("forget")


def test_a_cold_cache_backend_forgets_before_every_call_and_answers_alike():
    inner = CachingBackend()
    cold = ColdCacheBackend(inner)

    scores = [cold.score(MESSAGES, LABELS), cold.score(MESSAGES, LABELS)]
    reply = cold.generate(MESSAGES)

    assert inner.log == ["forget", "score", "forget", "score", "forget", "generate"]
    assert scores == [fake_student_scores(MESSAGES, LABELS)] * 2 and reply == "refund"
    assert cold.identity == inner.identity
    assert cold.count_tokens("a refund please") == inner.count_tokens("a refund please")


def test_a_counting_backend_counts_calls_and_tokens_of_what_passes_through():
    inner = CachingBackend()
    counting = CountingBackend(inner)

    counting.score(MESSAGES, LABELS)
    counting.generate(MESSAGES)
    counting.forget_cache()

    prompt = sum(inner.count_tokens(m["content"]) for m in MESSAGES)
    assert counting.snapshot() == (2, 2 * prompt, inner.count_tokens("refund"))
    assert inner.log == ["score", "generate", "forget"]


def test_a_memoless_evaluator_calls_the_student_for_every_example_every_time():
    schema = toy_task().schema
    dev = load_task_data(toy_task(), "toy").dev
    prompt = render_system_prompt(schema, [])
    template = render_user_template(schema)
    remembering = StudentEvaluator(FunctionBackend(score=fake_student_scores), schema, template)
    memoless = MemolessEvaluator(FunctionBackend(score=fake_student_scores), schema, template)

    for _ in range(2):
        assert memoless.label_scores(prompt, dev) == remembering.label_scores(prompt, dev)

    assert remembering.student_calls == len(dev)
    assert memoless.student_calls == 2 * len(dev)


def test_an_evaluator_that_forgets_scores_its_examples_again():
    schema = toy_task().schema
    dev = load_task_data(toy_task(), "toy").dev[:3]
    prompt = render_system_prompt(schema, [])
    evaluator = StudentEvaluator(
        FunctionBackend(score=fake_student_scores), schema, render_user_template(schema)
    )

    evaluator.label_scores(prompt, dev)
    evaluator.label_scores(prompt, dev)
    assert evaluator.student_calls == 3
    evaluator.forget()
    evaluator.label_scores(prompt, dev)
    assert evaluator.student_calls == 6
