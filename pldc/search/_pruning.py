"""Pruning: whether a trial stops after a dev slice, instead of being scored on the whole split."""

from __future__ import annotations

import abc

import optuna


class Pruning(abc.ABC):
    """Decides, after each dev slice but the last, whether a trial stops there."""

    @abc.abstractmethod
    def optuna_pruner(self) -> optuna.pruners.BasePruner:
        """The pruner the Optuna study is created with."""

    @abc.abstractmethod
    def prunes(self, trial: optuna.Trial, macro_f1: float, examples: int) -> bool:
        """True if `trial`, at `macro_f1` on its first `examples` dev examples, stops here."""


class NoPruning(Pruning):
    """Every trial is scored on the whole dev split.

    It reports nothing to the trial, which keeps multi-objective (Pareto) studies valid: Optuna
    refuses intermediate values there.
    """

    def optuna_pruner(self) -> optuna.pruners.BasePruner:
        return optuna.pruners.NopPruner()

    def prunes(self, trial: optuna.Trial, macro_f1: float, examples: int) -> bool:
        return False


class OptunaPruning(Pruning):
    """An Optuna pruner, told each slice's Macro-F1 with the slice's size as the step."""

    def __init__(self, pruner: optuna.pruners.BasePruner) -> None:
        self.pruner = pruner

    def optuna_pruner(self) -> optuna.pruners.BasePruner:
        return self.pruner

    def prunes(self, trial: optuna.Trial, macro_f1: float, examples: int) -> bool:
        trial.report(macro_f1, step=examples)
        return trial.should_prune()
