"""Random search: every rule's keep switch and rank drawn uniformly, after the teacher order."""

from __future__ import annotations

import optuna

from pldc.search._base import SampledSearch


class RandomSearch(SampledSearch):
    """The teacher-order trial first, then Optuna's RandomSampler: a baseline for TPE."""

    def sampler(self, worker: int = 0) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=self.seed + worker)

    def describe(self) -> str:
        return f"RandomSampler(seed={self.seed})"
