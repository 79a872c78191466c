"""Pareto search: dev Macro-F1 against prompt tokens, keeping the prompts no other beats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna

from pldc.records import Rule
from pldc.search._base import RuleSpace, SearchStrategy
from pldc.search._records import FrontPoint, TrialRecord


class ParetoSearch(SearchStrategy):
    """Another strategy's proposals, in a study that maximizes dev Macro-F1 and minimizes tokens.

    The result keeps the front, so a prompt for a tighter budget can be picked later without
    searching again. Optuna cannot prune multi-objective trials, so use it without a pruner.
    """

    directions = ("maximize", "minimize")

    def __init__(self, inner: SearchStrategy) -> None:
        super().__init__(seed=inner.seed)
        self.inner = inner

    def propose(
        self, study: optuna.Study, trial: optuna.Trial, space: RuleSpace
    ) -> Sequence[Rule] | None:
        return self.inner.propose(study, trial, space)

    def sampler(self, worker: int = 0) -> optuna.samplers.BaseSampler:
        return self.inner.sampler(worker)

    def opening_trials(self, space: RuleSpace) -> list[dict[str, Any]]:
        return self.inner.opening_trials(space)

    def front(self, trials: Sequence[TrialRecord]) -> list[FrontPoint] | None:
        return pareto_front(trials)

    def describe(self) -> str:
        return f"{self.inner.describe()}, Pareto: dev macro-F1 vs tokens"


def pareto_front(trials: Sequence[TrialRecord]) -> list[FrontPoint]:
    """Trials no other beats on both Macro-F1 and tokens, shortest first; pruned ones are skipped.

    Of several prompts with the same tokens and Macro-F1, the earliest trial speaks for them.
    """
    scored = [t for t in trials if not t.pruned]
    points: dict[tuple[int, float], FrontPoint] = {}
    for t in sorted(scored, key=lambda t: (t.tokens, -t.dev_macro_f1, t.number)):
        f1, tokens = t.dev_macro_f1, t.tokens
        dominated = any(
            o.dev_macro_f1 >= f1
            and o.tokens <= tokens
            and (o.dev_macro_f1 > f1 or o.tokens < tokens)
            for o in scored
        )
        if not dominated and (tokens, f1) not in points:
            points[tokens, f1] = FrontPoint(
                trial=t.number, rule_ids=t.rule_ids, tokens=tokens, dev_macro_f1=f1
            )
    return list(points.values())
