"""The token budget is a hard guarantee, whatever the rules and the budget."""

from __future__ import annotations

import pytest
from conftest import TicketTriage
from hypothesis import given, settings
from hypothesis import strategies as st

from pldc import BudgetError
from pldc.backends import FunctionBackend
from pldc.records import Rule
from pldc.render import render_system_prompt
from pldc.search import fit_to_budget
from pldc.task import TaskSchema

SCHEMA = TaskSchema.from_signature(TicketTriage)
COUNT = FunctionBackend().count_tokens
SCAFFOLD = COUNT(render_system_prompt(SCHEMA, []))

rule_texts = st.lists(st.text(min_size=1, max_size=80), max_size=12)


def rules_from(texts):
    return [
        Rule(id=f"rule-{i:02d}", text=t, labels=["bug"], source_example_ids=["x"], support=1)
        for i, t in enumerate(texts)
    ]


@settings(max_examples=200, deadline=None)
@given(texts=rule_texts, slack=st.integers(min_value=0, max_value=300))
def test_fitted_prompt_never_exceeds_the_budget(texts, slack):
    fitted = fit_to_budget(SCHEMA, rules_from(texts), COUNT, SCAFFOLD + slack)
    assert fitted.tokens == COUNT(fitted.system_prompt) <= SCAFFOLD + slack


@settings(max_examples=100, deadline=None)
@given(texts=rule_texts, slack=st.integers(min_value=0, max_value=300))
def test_fitting_keeps_a_prefix_of_the_ranked_rules(texts, slack):
    rules = rules_from(texts)
    fitted = fit_to_budget(SCHEMA, rules, COUNT, SCAFFOLD + slack)
    assert fitted.rules == rules[: len(fitted.rules)]


def test_a_budget_below_the_scaffold_names_the_minimum():
    with pytest.raises(BudgetError, match=f"at least {SCAFFOLD}"):
        fit_to_budget(SCHEMA, [], COUNT, SCAFFOLD - 1)


@settings(max_examples=200, deadline=None)
@given(
    pinned_texts=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=3),
    texts=rule_texts,
    slack=st.integers(min_value=0, max_value=300),
)
def test_pinned_rules_come_first_always_and_count_against_the_budget(pinned_texts, texts, slack):
    pinned = [r.model_copy(update={"id": f"pinned-{r.id}"}) for r in rules_from(pinned_texts)]
    budget = SCAFFOLD + slack
    try:
        fitted = fit_to_budget(SCHEMA, rules_from(texts), COUNT, budget, pinned)
    except BudgetError as error:
        assert "pinned_rules" in str(error)
        assert COUNT(render_system_prompt(SCHEMA, pinned_texts)) > budget
        return
    assert fitted.rules[: len(pinned)] == pinned
    assert fitted.tokens == COUNT(fitted.system_prompt) <= budget
