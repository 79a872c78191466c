"""Search: an Optuna study picks which rules to keep, and in what order, under a token budget.

Each rule gets a keep/drop switch and a rank. A trial's prompt takes the kept rules by rank;
if the rendered system prompt exceeds the budget, the lowest-ranked rules are dropped until it
fits, so no trial ever exceeds the budget. The objective is the student's dev Macro-F1.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import optuna
from pydantic import BaseModel

from pldc.calibration import CalibrationMethod
from pldc.data import Example, round_robin_sample
from pldc.errors import BudgetError
from pldc.evaluate import StudentEvaluator
from pldc.progress import NullProgress, Progress
from pldc.render import render_system_prompt
from pldc.rulepool import Rule
from pldc.task import TaskSchema

PrunerName = Literal["none", "successive_halving", "median"]


@dataclass(frozen=True)
class SearchSettings:
    token_budget: int
    trials: int = 8
    seed: int = 0
    calibration: CalibrationMethod = "batch"
    pruner: PrunerName = "none"
    dev_slices: tuple[float, ...] = (1.0,)
    """Growing fractions of the dev split a trial is scored on; a pruner may stop it between."""


class TrialRecord(BaseModel):
    number: int
    rule_ids: list[str]
    tokens: int
    dev_macro_f1: float
    """On the whole dev split; for a pruned trial, on the slice it was stopped after."""
    dev_examples: int | None = None
    pruned: bool = False


class SearchResult(BaseModel):
    rule_ids: list[str]
    system_prompt: str
    token_count: int
    best_trial: int
    trials: list[TrialRecord]
    sampler: str


@dataclass(frozen=True)
class FittedPrompt:
    rules: list[Rule]
    system_prompt: str
    tokens: int


def fit_to_budget(
    schema: TaskSchema,
    ranked_rules: Sequence[Rule],
    count_tokens: Callable[[str], int],
    token_budget: int,
) -> FittedPrompt:
    """The longest prefix of `ranked_rules` whose system prompt fits the budget."""
    kept = list(ranked_rules)
    while True:
        prompt = render_system_prompt(schema, [rule.text for rule in kept])
        tokens = count_tokens(prompt)
        if tokens <= token_budget:
            return FittedPrompt(kept, prompt, tokens)
        if not kept:
            raise BudgetError(
                f"--budget {token_budget} tokens cannot hold the prompt scaffold alone "
                f"({tokens} tokens of instruction and answer format, counted with the student's "
                f"tokenizer); raise the budget to at least {tokens}."
            )
        kept.pop()


def search_rules(
    schema: TaskSchema,
    pool: Sequence[Rule],
    evaluator: StudentEvaluator,
    dev: Sequence[Example],
    settings: SearchSettings,
    *,
    storage: str | None = None,
    study_name: str = "pldc",
    progress: Progress | None = None,
) -> SearchResult:
    progress = progress or NullProgress()
    count_tokens = evaluator.student.count_tokens
    fit_to_budget(schema, [], count_tokens, settings.token_budget)  # fail fast on a tiny budget

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Optuna's default of 10 random start-up trials would leave a short search purely random.
    startup_trials = max(3, settings.trials // 3)
    sampler = optuna.samplers.TPESampler(seed=settings.seed, n_startup_trials=startup_trials)
    study = optuna.create_study(
        direction="maximize",
        sampler=sampler,
        pruner=_pruner(settings, len(dev)),
        storage=storage,
        study_name=study_name,
        load_if_exists=True,
    )
    _fail_abandoned_trials(study)
    if not study.trials and pool:
        # Start from the teacher's own order with every rule kept, trimmed to the budget.
        study.enqueue_trial(
            {f"use:{rule.id}": True for rule in pool}
            | {f"rank:{rule.id}": i / len(pool) for i, rule in enumerate(pool)}
        )

    # Slices grow along a label-interleaved order, so even the first slice sees every label.
    ordered_dev = round_robin_sample(dev, len(dev), random.Random(settings.seed))
    slice_sizes = _slice_sizes(settings.dev_slices, len(dev))

    def objective(trial: optuna.Trial) -> float:
        ranked = []
        for rule in pool:
            keep = trial.suggest_categorical(f"use:{rule.id}", [True, False])
            rank = trial.suggest_float(f"rank:{rule.id}", 0.0, 1.0)
            if keep:
                ranked.append((rank, rule.id, rule))
        ranked.sort(key=lambda item: (item[0], item[1]))
        fitted = fit_to_budget(schema, [r for *_, r in ranked], count_tokens, settings.token_budget)
        trial.set_user_attr("rule_ids", [rule.id for rule in fitted.rules])
        trial.set_user_attr("tokens", fitted.tokens)
        for size in slice_sizes:
            with progress.stage(f"trial {trial.number}: dev[:{size}]", total=size) as stage:
                scores, _ = evaluator.calibrated(
                    settings.calibration, fitted.system_prompt, ordered_dev[:size], stage
                )
            trial.set_user_attr("dev_examples", size)
            if size < len(dev):
                trial.report(scores.macro_f1, step=size)
                if trial.should_prune():
                    trial.set_user_attr("pruned_dev_macro_f1", scores.macro_f1)
                    raise optuna.TrialPruned()
        return scores.macro_f1

    # A pruned trial counts as one of the trials asked for.
    done = _finished(study)
    remaining = max(0, settings.trials - len(done))
    with progress.stage("search", total=settings.trials) as stage:
        stage.update(completed=len(done), status=_status(study))

        def report(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
            stage.update(completed=len(_finished(study)), status=_status(study))

        if remaining:
            study.optimize(objective, n_trials=remaining, callbacks=[report])

    finished = _completed(study)
    best = max(finished, key=lambda t: (t.value, -t.user_attrs["tokens"], -t.number))
    by_id = {rule.id: rule for rule in pool}
    chosen = [by_id[rule_id] for rule_id in best.user_attrs["rule_ids"]]
    fitted = fit_to_budget(schema, chosen, count_tokens, settings.token_budget)
    return SearchResult(
        rule_ids=[rule.id for rule in fitted.rules],
        system_prompt=fitted.system_prompt,
        token_count=fitted.tokens,
        best_trial=best.number,
        trials=[
            TrialRecord(
                number=t.number,
                rule_ids=t.user_attrs["rule_ids"],
                tokens=t.user_attrs["tokens"],
                dev_macro_f1=t.value
                if t.value is not None
                else t.user_attrs["pruned_dev_macro_f1"],
                dev_examples=t.user_attrs.get("dev_examples"),
                pruned=t.state == optuna.trial.TrialState.PRUNED,
            )
            for t in _finished(study)
        ],
        sampler=f"TPESampler(seed={settings.seed}, n_startup_trials={startup_trials})",
    )


def _slice_sizes(fractions: Sequence[float], total: int) -> list[int]:
    """Distinct, growing example counts for the fractions; the last always covers the split."""
    return sorted({max(1, min(total, round(f * total))) for f in fractions} | {total})


def _pruner(settings: SearchSettings, dev_size: int) -> optuna.pruners.BasePruner:
    if settings.pruner == "successive_halving":
        first = _slice_sizes(settings.dev_slices, dev_size)[0]
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=first, reduction_factor=2)
    if settings.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    return optuna.pruners.NopPruner()


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=states)


def _completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def _status(study: optuna.Study) -> str:
    completed = _completed(study)
    if not completed:
        return ""
    pruned = len(_finished(study)) - len(completed)
    best = f"best dev macro-F1 {max(t.value for t in completed):.3f}"
    return best + (f", {pruned} pruned" if pruned else "")


def _fail_abandoned_trials(study: optuna.Study) -> None:
    """Trials left RUNNING by a killed compile never finish; mark them failed so they rerun."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
