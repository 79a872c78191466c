"""Searches against the real local student: naive versus optimized, and two Pareto workers."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pytest

from pldc.backends import open_model
from pldc.data import load_task_data
from pldc.evaluate import StudentEvaluator
from pldc.models import DEFAULT_STUDENT
from pldc.records import Rule
from pldc.render import render_user_template
from pldc.search import search_rules
from pldc.settings import SearchSettings
from pldc.stages import reopened_evaluator_in, stored_evaluator_in

pytestmark = pytest.mark.real_model

SIGNATURES = Path(__file__).resolve().parent.parent / "signatures"
sys.path.insert(0, str(SIGNATURES.parent / "benchmarks"))
from wrappers import ColdCacheBackend, MemolessEvaluator  # noqa: E402

TRIALS = 4


@pytest.fixture(scope="module")
def claims_slice():
    """8 dev claims of the demo task, with the generator's true rules as the pool."""
    sys.path.insert(0, str(SIGNATURES))
    from expense_claims import ExpenseClaimReview, true_rules
    from expense_claims_data import generate_claims

    import pldc

    task = pldc.Task(
        signature=ExpenseClaimReview,
        data=generate_claims(n=60, seed=7),
        splits=pldc.Splits(train=0.6, dev=0.2, test=0.2, seed=0),
    )
    pool = [
        Rule(id=f"true-{i}", text=text, labels=[], source_example_ids=[], support=0)
        for i, text in enumerate(true_rules, start=1)
    ]
    return task.schema, load_task_data(task, "slice").dev[:8], pool


@pytest.fixture(scope="module")
def student():
    return open_model(DEFAULT_STUDENT)


def test_optimized_search_takes_the_naive_searchs_path_with_fewer_tokens(claims_slice, student):
    schema, dev, pool = claims_slice
    settings = SearchSettings(token_budget=300, trials=2)
    template = render_user_template(schema)
    evaluators = {  # naive: pldc's own search, wrapped as scripts/search_benchmark.py does
        False: MemolessEvaluator(ColdCacheBackend(student), schema, template),
        True: StudentEvaluator(student, schema, template),
    }
    runs = {}
    for optimized, evaluator in evaluators.items():
        before = student.tokens_evaluated
        result = search_rules(schema, pool, evaluator, dev, settings)
        runs[optimized] = (result, student.tokens_evaluated - before)
    (naive, naive_tokens), (optimized, optimized_tokens) = runs[False], runs[True]
    # Cached and cold scores are equal, so the sampler sees the same numbers and makes the
    # same choices: the same trials, scores and best prompt, for a fraction of the tokens.
    assert [t.model_dump() for t in optimized.trials] == [t.model_dump() for t in naive.trials]
    assert optimized.system_prompt == naive.system_prompt
    assert optimized_tokens * 2 < naive_tokens


def test_two_real_student_workers_build_one_pareto_front(tmp_path, claims_slice, student):
    schema, dev, pool = claims_slice
    settings = SearchSettings(token_budget=300, trials=TRIALS, objective="pareto", workers=2)
    result = search_rules(
        schema,
        pool,
        stored_evaluator_in(tmp_path, student, schema),
        dev,
        settings,
        storage=f"sqlite:///{tmp_path / 'study.db'}",
        open_worker_evaluator=partial(reopened_evaluator_in, tmp_path, student.identity, schema),
    )

    assert sorted(t.number for t in result.trials) == sorted({t.number for t in result.trials})
    assert len(result.trials) == TRIALS
    assert all(t.tokens <= 300 for t in result.trials)
    front = result.pareto_front
    assert front and [p.tokens for p in front] == sorted(p.tokens for p in front)
    for point in front:
        assert not any(
            t.dev_macro_f1 > point.dev_macro_f1 and t.tokens <= point.tokens for t in result.trials
        )
