"""The search-strategy interface: what a strategy is told, and the one thing it decides.

The search runner (`pldc.search.search_rules`) owns the Optuna study: storage, resume, the trial
quota shared by workers, scoring on dev, pruning and the final result. A strategy only proposes
each trial's rules, best first; the runner puts the pinned rules ahead of them and trims the
end until the prompt fits the token budget, so no strategy can break the budget or drop a
pinned rule. A new strategy is one new module with one `SearchStrategy` subclass.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import optuna

from pldc.records import Rule
from pldc.search._budget import FittedPrompt, fit_to_budget
from pldc.task import TaskSchema

if TYPE_CHECKING:
    from pldc.search._records import FrontPoint, SearchSettings, TrialRecord


SEARCH_REVISION = 3
"""Raised whenever a strategy proposes other trials for the same settings (2: the rules-alone
opening trial; 3: no opening trial the budget trims to an earlier one's prompt), so a study
stored by an older pldc is searched again, not resumed."""


@dataclass(frozen=True)
class RuleSpace:
    """What every strategy is told: the candidate rules, the pinned rules and the token budget."""

    schema: TaskSchema
    pool: Sequence[Rule]
    """The candidate rules, in the teacher's order."""
    pinned: Sequence[Rule]
    """Rules every prompt starts with; they count against the budget and are never dropped."""
    token_budget: int
    """Most system-prompt tokens a trial may use, counted by `count_tokens`."""
    count_tokens: Callable[[str], int]
    """The student's tokenizer."""

    def fit(self, ranked: Sequence[Rule]) -> FittedPrompt:
        """The prompt a trial proposing `ranked` scores: pinned rules, then a prefix of `ranked`."""
        return fit_to_budget(self.schema, ranked, self.count_tokens, self.token_budget, self.pinned)


class SearchStrategy(abc.ABC):
    """Proposes, trial by trial, which candidate rules a prompt holds and in what order.

    Subclasses implement `propose`. One that draws values from Optuna's `trial.suggest_*`
    returns the sampler behind them from `sampler`; one that needs no sampler leaves the
    default. Instances are picklable, so search workers in other processes get a copy.
    """

    directions: ClassVar[tuple[str, ...]] = ("maximize",)
    """The Optuna study's directions: the objective, then (`ParetoSearch`) prompt tokens."""

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    @classmethod
    def from_settings(cls, settings: SearchSettings) -> Self:
        """The strategy as `settings` configure it (seed, trial count, workers)."""
        return cls(seed=settings.seed)

    @abc.abstractmethod
    def propose(
        self, study: optuna.Study, trial: optuna.Trial, space: RuleSpace
    ) -> Sequence[Rule] | None:
        """The candidate rules `trial` scores, best first, or None when nothing is left to try.

        `study` holds every earlier trial (see `prompt_scores`). Pinned rules are not part of
        the answer: they always lead the prompt. Returning None stops this worker's search.
        """

    def sampler(self, worker: int = 0) -> optuna.samplers.BaseSampler:
        """The Optuna sampler behind `trial.suggest_*`, seeded apart for each worker process."""
        # Strategies that never call suggest_* still need a study sampler; this one is unused.
        return optuna.samplers.RandomSampler(seed=self.seed + worker)

    def opening_trials(self, space: RuleSpace) -> list[dict[str, Any]]:
        """Parameters to enqueue in a new, empty study before any trial is sampled."""
        return []

    def front(self, trials: Sequence[TrialRecord]) -> list[FrontPoint] | None:
        """The Pareto front the result reports; None for a single-objective strategy."""
        return None

    def describe(self) -> str:
        """How the artifact names the strategy, e.g. "TPESampler(seed=0, n_startup_trials=3)"."""
        return f"{type(self).__name__}(seed={self.seed})"


class SampledSearch(SearchStrategy):
    """A strategy whose trials an Optuna sampler draws: a keep/drop switch and a rank per rule.

    A new study starts with the zero-shot prompt, the few-shot prompt (when the pool holds
    demonstrations), every rule without the demonstrations, and the teacher-order prompt with
    every candidate kept.
    """

    def propose(
        self, study: optuna.Study, trial: optuna.Trial, space: RuleSpace
    ) -> Sequence[Rule] | None:
        if not space.pool:
            # Nothing to choose (verification kept no rule): the one prompt, scored once.
            return None if prompt_scores(study) else []
        ranked = []
        for rule in space.pool:
            keep = trial.suggest_categorical(f"use:{rule.id}", [True, False])
            rank = trial.suggest_float(f"rank:{rule.id}", 0.0, 1.0)
            if keep:
                ranked.append((rank, rule.id, rule))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [rule for *_, rule in ranked]

    def opening_trials(self, space: RuleSpace) -> list[dict[str, Any]]:
        """The baselines first: no candidates (zero-shot), then the demonstrations alone
        (few-shot), then the rules alone, then every candidate in the pool's order (the
        teacher's rules, then the demonstrations), each trimmed to the budget; a set the pool
        cannot make, or one the budget trims to a prompt already opened, is skipped.

        The rules-alone trial is there because a few random or TPE trials over both kinds
        rarely drop every demonstration: on the demo, 8 such trials never scored the rules
        alone, which the rules-only compile found better on the selection examples."""
        if not space.pool:
            return []
        everything = {c.id for c in space.pool}
        demonstrations = {c.id for c in space.pool if c.kind == "demonstration"}
        openers, prompts = [], set()
        for keep in (set(), demonstrations, everything - demonstrations, everything):
            # When the rules alone fill the budget, "everything" trims to the same prompt.
            prompt = tuple(r.id for r in space.fit([c for c in space.pool if c.id in keep]).rules)
            if prompt not in prompts:
                prompts.add(prompt)
                openers.append(_trial_keeping(space.pool, keep))
        return openers

    @abc.abstractmethod
    def sampler(self, worker: int = 0) -> optuna.samplers.BaseSampler: ...


def _trial_keeping(pool: Sequence[Rule], keep: set[str]) -> dict[str, Any]:
    """A `SampledSearch` trial's parameters that keep `keep`, ranked in the pool's order."""
    return {f"use:{c.id}": c.id in keep for c in pool} | {
        f"rank:{c.id}": i / len(pool) for i, c in enumerate(pool)
    }


def prompt_scores(study: optuna.Study) -> dict[tuple[str, ...], float | None]:
    """Each prompt the study has scored or is scoring, by its rule ids, to its objective value.

    Rule ids are the prompt's, pinned rules first. The score is None while a trial still runs
    (in this or another worker) and -inf for a pruned trial, which no full score should lose to.
    """
    scores: dict[tuple[str, ...], float | None] = {}
    for t in study.get_trials(deepcopy=False):
        if "rule_ids" not in t.user_attrs:
            continue
        key = tuple(t.user_attrs["rule_ids"])
        if t.state == optuna.trial.TrialState.COMPLETE:
            scores[key] = t.values[0]
        elif t.state == optuna.trial.TrialState.PRUNED:
            scores.setdefault(key, float("-inf"))
        elif t.state == optuna.trial.TrialState.RUNNING:
            scores.setdefault(key, None)
    return scores
