"""The search's own results: the Pareto front and what `search_rules` returns.

The settings it is asked for live with every other setting (`pldc.settings`), and each trial's
record with the artifact's records (`pldc.records.TrialRecord`).
"""

from __future__ import annotations

from pydantic import BaseModel

from pldc.records import TrialRecord
from pldc.settings import PrunerName, SamplerName, SearchObjective, SearchSettings

__all__ = [
    "FrontPoint",
    "PrunerName",
    "SamplerName",
    "SearchObjective",
    "SearchResult",
    "SearchSettings",
    "TrialRecord",
]


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
    study_name: str | None = None
    """The Optuna study the trials are stored in."""
