"""Greedy forward selection: add the rule that raises the search objective most, until none does."""

from __future__ import annotations

from collections.abc import Sequence

import optuna

from pldc.records import Rule
from pldc.search._base import RuleSpace, SearchStrategy, prompt_scores


class GreedySearch(SearchStrategy):
    """Forward selection from the prompt with no candidate rule (the pinned rules alone).

    Each round scores the chosen rules plus each remaining rule that still fits the budget,
    one trial per candidate, in the teacher's order; the best one is kept if it beats the
    chosen rules' score, and the search stops when none does (ties go to the earlier rule).
    Its state is read back from the study's trials, so a stopped search resumes, and parallel
    workers share a round's candidates. The seed is unused: the search is deterministic.
    """

    def propose(
        self, study: optuna.Study, trial: optuna.Trial, space: RuleSpace
    ) -> Sequence[Rule] | None:
        scores = prompt_scores(study)
        chosen: list[Rule] = []
        current = _ids(space, chosen)
        while True:
            if current not in scores:
                return chosen  # only the empty start is ever unscored here
            if scores[current] is None:
                return None  # another worker is scoring it
            candidates = _candidates(space, chosen)
            untried = [rule for rule, ids in candidates if ids not in scores]
            if untried:
                return [*chosen, untried[0]]
            if any(scores[ids] is None for _, ids in candidates):
                return None  # the round ends in another worker, which carries on
            if not candidates:
                return None
            best, best_ids = max(candidates, key=lambda candidate: scores[candidate[1]])
            if scores[best_ids] <= scores[current]:
                return None
            chosen.append(best)
            current = best_ids

    def describe(self) -> str:
        return "GreedyForwardSelection()"


def _ids(space: RuleSpace, ranked: Sequence[Rule]) -> tuple[str, ...]:
    return tuple(rule.id for rule in space.fit(ranked).rules)


def _candidates(space: RuleSpace, chosen: list[Rule]) -> list[tuple[Rule, tuple[str, ...]]]:
    """Each rule not yet chosen whose addition fits the budget, with the prompt's rule ids."""
    taken = {rule.id for rule in chosen}
    candidates = []
    for rule in space.pool:
        if rule.id in taken:
            continue
        fitted = space.fit([*chosen, rule])
        # The budget trims from the end, so a rule that does not fit is the one missing.
        if fitted.rules and fitted.rules[-1].id == rule.id:
            candidates.append((rule, tuple(r.id for r in fitted.rules)))
    return candidates
