"""Rules pinned by the task file are always in the prompt, first, and count against the budget."""

from __future__ import annotations

import pytest
from conftest import toy_task

from pldc import BudgetError, TaskFileError
from pldc.compiler import compile_task
from pldc.embed import TfidfEmbedder
from pldc.rulepool import pinned_rules
from pldc.search import fit_to_budget
from pldc.settings import CompileSettings

MANDATORY = "Send every ticket that mentions a chargeback to the refund queue."


def compile_pinned(tmp_path, teacher, student, budget=160, pinned=(MANDATORY,)):
    return compile_task(
        toy_task(pinned_rules=pinned),
        teacher=teacher,
        student=student,
        settings=CompileSettings(token_budget=budget, trials=6, seed=0, teacher_examples=9),
        run_dir=tmp_path / "run",
        embedder=TfidfEmbedder(),
    )


def test_pinned_rule_leads_every_trial_and_the_artifact(tmp_path, teacher, student):
    artifact = compile_pinned(tmp_path, teacher, student)
    assert artifact.rules[0].text == MANDATORY
    assert artifact.rules[0].fate == "pinned"
    assert "1. " + MANDATORY in artifact.prompt.system
    assert all(trial.rule_ids[0] == "pinned-1" for trial in artifact.provenance.trials)
    assert artifact.token_count <= artifact.token_budget
    assert any(rule.fate != "pinned" for rule in artifact.rules)  # learned rules still fit


def test_pinned_rules_too_long_for_the_budget_are_refused_naming_the_field(
    tmp_path, teacher, student
):
    schema = toy_task().schema
    pinned = pinned_rules([MANDATORY] * 3)
    fitted = fit_to_budget(schema, [], student.count_tokens, 10_000, pinned)
    with pytest.raises(BudgetError, match="pinned_rules") as error:
        compile_pinned(tmp_path, teacher, student, budget=fitted.tokens - 1, pinned=[MANDATORY] * 3)
    assert f"at least {fitted.tokens}" in str(error.value)
    assert not teacher.calls  # refused before any model time is spent


@pytest.mark.parametrize("bad", ["one string, not a list", ["fine", ""], [3]])
def test_malformed_pinned_rules_name_the_field_and_the_fix(bad):
    with pytest.raises(TaskFileError, match=r"pinned_rules=.*list of non-empty rule texts"):
        toy_task(pinned_rules=bad)
