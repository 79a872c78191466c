"""TPE: Optuna's Tree-structured Parzen Estimator over each rule's keep switch and rank."""

from __future__ import annotations

from typing import Self

import optuna

from pldc.search._base import SampledSearch
from pldc.search._records import SearchSettings


class TPESearch(SampledSearch):
    """The default search: the teacher-order trial first, then TPE.

    `n_startup_trials` random trials come before TPE models the results; `constant_liar` keeps
    parallel workers from converging on one running trial's region.
    """

    def __init__(
        self, *, seed: int = 0, n_startup_trials: int = 3, constant_liar: bool = False
    ) -> None:
        super().__init__(seed=seed)
        self.n_startup_trials = n_startup_trials
        self.constant_liar = constant_liar

    @classmethod
    def from_settings(cls, settings: SearchSettings) -> Self:
        # Optuna's default of 10 random start-up trials would leave a short search purely random.
        return cls(
            seed=settings.seed,
            n_startup_trials=max(3, settings.trials // 3),
            constant_liar=settings.workers > 1,
        )

    def sampler(self, worker: int = 0) -> optuna.samplers.BaseSampler:
        # Each worker gets its own seed, or they would propose the same trials.
        return optuna.samplers.TPESampler(
            seed=self.seed + worker,
            n_startup_trials=self.n_startup_trials,
            constant_liar=self.constant_liar,
        )

    def describe(self) -> str:
        return f"TPESampler(seed={self.seed}, n_startup_trials={self.n_startup_trials})"
