"""Pareto search with two worker processes, each running the real local student."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pytest

from pldc.backends import open_model
from pldc.compiler import reopened_evaluator_in, stored_evaluator_in
from pldc.data import load_task_data
from pldc.models import DEFAULT_STUDENT
from pldc.rulepool import Rule
from pldc.search import SearchSettings, search_rules

pytestmark = pytest.mark.real_model

SIGNATURES = Path(__file__).resolve().parent.parent / "signatures"
TRIALS = 4


def test_two_real_student_workers_build_one_pareto_front(tmp_path):
    sys.path.insert(0, str(SIGNATURES))
    from expense_claims import ExpenseClaimReview, true_rules
    from expense_claims_data import generate_claims

    import pldc

    task = pldc.Task(
        signature=ExpenseClaimReview,
        data=generate_claims(n=60, seed=7),
        splits=pldc.Splits(train=0.6, dev=0.2, test=0.2, seed=0),
    )
    schema = task.schema
    dev = load_task_data(task, "slice").dev
    pool = [
        Rule(id=f"true-{i}", text=text, labels=[], source_example_ids=[], support=0)
        for i, text in enumerate(true_rules, start=1)
    ]
    student = open_model(DEFAULT_STUDENT)
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
