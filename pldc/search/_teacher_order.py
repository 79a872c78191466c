"""Teacher order: one prompt, every candidate rule in the teacher's order, trimmed to the budget."""

from __future__ import annotations

from collections.abc import Sequence

import optuna

from pldc.records import Rule
from pldc.search._base import RuleSpace, SearchStrategy, prompt_scores


class TeacherOrderSearch(SearchStrategy):
    """The no-search baseline: a single trial, the pool as the teacher's rule pool ordered it.

    Rules past the budget are dropped from the end, as in every trial. The seed is unused.
    """

    def propose(
        self, study: optuna.Study, trial: optuna.Trial, space: RuleSpace
    ) -> Sequence[Rule] | None:
        teacher_order = tuple(rule.id for rule in space.fit(space.pool).rules)
        if teacher_order in prompt_scores(study):  # scored, or being scored by another worker
            return None
        return list(space.pool)

    def describe(self) -> str:
        return "TeacherOrder()"
