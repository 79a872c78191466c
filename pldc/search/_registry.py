"""Where setting names become objects: "tpe" → `TPESearch`, "median" → a median pruner, ..."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from pldc.errors import SettingsError
from pldc.search._base import SearchStrategy
from pldc.search._evidence import EvidenceSearch
from pldc.search._greedy import GreedySearch
from pldc.search._pareto import ParetoSearch
from pldc.search._pruning import NoPruning, OptunaPruning, Pruning
from pldc.search._random import RandomSearch
from pldc.search._records import PrunerName, SearchSettings
from pldc.search._teacher_order import TeacherOrderSearch
from pldc.search._tpe import TPESearch

STRATEGIES: dict[str, type[SearchStrategy]] = {
    "tpe": TPESearch,
    "random": RandomSearch,
    "greedy": GreedySearch,
    "teacher_order": TeacherOrderSearch,
    "evidence": EvidenceSearch,
}
"""The strategies the `sampler` setting can name (`SamplerName`)."""


def strategy_for(settings: SearchSettings) -> SearchStrategy:
    """The strategy `settings.sampler` names, as a Pareto search if `settings.objective` says so.

    Raises `SettingsError` for a name that is not in `STRATEGIES`.
    """
    try:
        strategy_class = STRATEGIES[settings.sampler]
    except KeyError:
        raise SettingsError(
            f"sampler = {settings.sampler!r} is no search strategy; use one of: "
            f"{', '.join(STRATEGIES)}.",
            "sampler",
        ) from None
    strategy = strategy_class.from_settings(settings)
    return ParetoSearch(strategy) if settings.objective == "pareto" else strategy


PRUNERS: dict[str, Callable[[int], Pruning]] = {
    "none": lambda first_slice: NoPruning(),
    "successive_halving": lambda first_slice: OptunaPruning(
        optuna.pruners.SuccessiveHalvingPruner(min_resource=first_slice, reduction_factor=2)
    ),
    "median": lambda first_slice: OptunaPruning(
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    ),
}
"""The pruning each `pruner` setting names (`PrunerName`), given the smallest dev slice's size."""


def pruning_for(pruner: PrunerName, first_slice: int) -> Pruning:
    """The pruning `pruner` names; `first_slice` is the smallest dev slice, in examples.

    Raises `SettingsError` for a name that is not in `PRUNERS`.
    """
    try:
        return PRUNERS[pruner](first_slice)
    except KeyError:
        raise SettingsError(
            f"pruner = {pruner!r} is no pruner; use one of: {', '.join(PRUNERS)}.", "pruner"
        ) from None
