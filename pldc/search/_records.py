"""The search's settings and its records: what a study is asked for, and what each trial was.

These import no strategy and no Optuna, so the artifact and the settings can use them freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from pldc.calibration import CalibrationMethod
from pldc.errors import SettingsError

PrunerName = Literal["none", "successive_halving", "median"]
SearchObjective = Literal["macro_f1", "pareto"]
SamplerName = Literal["tpe", "random", "greedy", "teacher_order"]
"""Search strategies a setting or preset can name; `pldc.search.STRATEGIES` maps each to a class."""


@dataclass(frozen=True)
class SearchSettings:
    token_budget: int
    trials: int = 8
    seed: int = 0
    calibration: CalibrationMethod = "batch"
    pruner: PrunerName = "none"
    dev_slices: tuple[float, ...] = (1.0,)
    """Growing fractions of the dev split a trial is scored on; a pruner may stop it between."""
    objective: SearchObjective = "macro_f1"
    """"pareto" maximizes dev Macro-F1 and minimizes prompt tokens, and keeps the front."""
    workers: int = 1
    """Processes running trials against the one study; more than one needs shared storage."""
    sampler: SamplerName = "tpe"

    def __post_init__(self) -> None:
        if self.objective == "pareto" and self.pruner != "none":
            raise SettingsError(
                f'objective = "pareto" cannot prune trials (pruner = "{self.pruner}"); Optuna '
                'prunes single-objective studies only. Use pruner = "none" with it.',
                "pruner",
            )


class TrialRecord(BaseModel):
    number: int
    rule_ids: list[str]
    tokens: int
    dev_macro_f1: float
    """On the whole dev split; for a pruned trial, on the slice it was stopped after."""
    dev_examples: int | None = None
    pruned: bool = False


class FrontPoint(BaseModel):
    """A Pareto-optimal prompt: no other trial is both shorter and at least as accurate."""

    trial: int
    rule_ids: list[str]
    tokens: int
    dev_macro_f1: float


class SearchResult(BaseModel):
    rule_ids: list[str]
    system_prompt: str
    token_count: int
    best_trial: int
    trials: list[TrialRecord]
    sampler: str
    pareto_front: list[FrontPoint] | None = None
    """Shortest first; only in Pareto mode."""
