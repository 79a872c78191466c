"""Pruned search on growing dev slices: weak trials stop early and cost fewer student calls."""

from __future__ import annotations

from conftest import KEYWORDS, fake_student_scores, toy_task

from pldc.backends import FunctionBackend
from pldc.data import load_task_data
from pldc.evaluate import StudentEvaluator
from pldc.records import Rule
from pldc.render import render_user_template
from pldc.search import search_rules
from pldc.settings import SearchSettings


def _pool() -> list[Rule]:
    texts = [
        f"If the ticket mentions {k}, the answer is {q}." for q, ks in KEYWORDS.items() for k in ks
    ]
    texts += [
        f"If the ticket mentions {w}, the answer is other." for w in ("hello", "app", "order")
    ]
    return [
        Rule(id=f"rule-{i:02d}", text=t, labels=["x"], source_example_ids=["t000"], support=1)
        for i, t in enumerate(texts)
    ]


def _search(pruner: str, slices: tuple[float, ...]):
    task = toy_task()
    data = load_task_data(task, "toy")
    student = FunctionBackend(score=fake_student_scores, name="fake-student")
    evaluator = StudentEvaluator(student, task.schema, render_user_template(task.schema))
    settings = SearchSettings(token_budget=400, trials=16, seed=0, pruner=pruner, dev_slices=slices)
    result = search_rules(task.schema, _pool(), evaluator, data.dev, settings)
    return result, evaluator.student_calls, len(data.dev)


def test_successive_halving_prunes_trials_and_saves_student_calls():
    full, full_calls, dev_size = _search("none", (1.0,))
    pruned, pruned_calls, _ = _search("successive_halving", (0.25, 0.5, 1.0))

    stopped = [t for t in pruned.trials if t.pruned]
    assert stopped and all(t.dev_examples < dev_size for t in stopped)
    assert len(pruned.trials) == len(full.trials) == 16
    assert pruned_calls < full_calls
    # the chosen prompt was scored on the whole dev split, never on a slice
    best = next(t for t in pruned.trials if t.number == pruned.best_trial)
    assert not best.pruned and best.dev_examples == dev_size


def test_a_single_full_slice_never_prunes():
    result, _, dev_size = _search("median", (1.0,))
    assert not any(t.pruned for t in result.trials)
    assert all(t.dev_examples == dev_size for t in result.trials)


def test_random_sampler_is_a_setting_and_runs_the_trials_asked_for():
    task = toy_task()
    data = load_task_data(task, "toy")
    student = FunctionBackend(score=fake_student_scores, name="fake-student")
    evaluator = StudentEvaluator(student, task.schema, render_user_template(task.schema))
    settings = SearchSettings(token_budget=400, trials=5, seed=0, sampler="random")
    result = search_rules(task.schema, _pool(), evaluator, data.dev, settings)
    assert result.sampler == "RandomSampler(seed=0)"
    assert len(result.trials) == 5
