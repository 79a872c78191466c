"""`search_rules`: run a strategy's study to its trial count, in one or more processes."""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import optuna

from pldc.backends import models_opened_with, threads_per_worker
from pldc.data import Example
from pldc.errors import PLDError, SettingsError
from pldc.evaluate import StudentEvaluator
from pldc.progress import NullProgress, Progress, StageProgress
from pldc.records import Rule
from pldc.search._base import RuleSpace, SearchStrategy
from pldc.search._objective import TrialObjective, slice_sizes
from pldc.search._records import SearchResult, SearchSettings, TrialRecord
from pldc.search._registry import pruning_for, strategy_for
from pldc.search._study import (
    fail_abandoned_trials,
    finished_trials,
    load_or_create_study,
    run_trials,
    study_errors_reported,
)
from pldc.task import TaskSchema


def search_rules(
    schema: TaskSchema,
    pool: Sequence[Rule],
    evaluator: StudentEvaluator,
    dev: Sequence[Example],
    settings: SearchSettings,
    *,
    pinned: Sequence[Rule] = (),
    strategy: SearchStrategy | None = None,
    storage: str | None = None,
    study_name: str = "pldc",
    study_attrs: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None = None,
) -> SearchResult:
    """Run the study to `settings.trials` finished trials and return its best prompt.

    `strategy` proposes the trials (default: the one `settings.sampler` and `settings.objective`
    name); a strategy may stop with fewer trials. With `settings.workers` > 1, the extra
    workers are processes, and every worker, this process included, calls
    `open_worker_evaluator` (a picklable factory) for a student of its own on its share of the
    cores; `evaluator` then only counts tokens. `storage` is an Optuna storage URL (default:
    in memory); a study found there under `study_name` resumes. A new study gets
    `study_attrs` as Optuna user attributes, and its objectives' metric names, for
    optuna-dashboard. Raises `BudgetError` if the
    pinned rules exceed the budget (the first trial's prompt cannot fit, so no student call is
    made; `compile_task` checks the budget before any model runs), `SettingsError` for
    unusable settings or storage, `PLDError` if no trial finishes or if Optuna or the storage
    fails while the study runs (`study_errors_reported`).
    """
    progress = progress or NullProgress()
    strategy = strategy or strategy_for(settings)
    space = RuleSpace(
        schema, tuple(pool), tuple(pinned), settings.token_budget, evaluator.student.count_tokens
    )
    _check_settings(settings, storage, open_worker_evaluator)
    with study_errors_reported(storage, study_name):
        study = _resumed_study(
            strategy, space, settings, storage, study_name, len(dev), study_attrs or {}
        )
        with progress.stage(f"search, study {study.study_name}", total=settings.trials) as stage:
            report = _reporter(stage)
            report(study)
            workers = _workers(
                strategy,
                space,
                dev,
                settings,
                storage,
                study.study_name,
                open_worker_evaluator,
                evaluator,
            )
            with workers as own_evaluator:
                objective = _objective(
                    study, strategy, space, own_evaluator, dev, settings, progress
                )
                run_trials(study, objective, settings.trials, callbacks=[report])
            report(study)
        return _result(study, space, strategy, settings)


def _reporter(stage: StageProgress) -> Callable[..., None]:
    """A study callback that shows the finished trials and the best score so far."""

    def report(study: optuna.Study, _trial: optuna.trial.FrozenTrial | None = None) -> None:
        stage.update(completed=len(finished_trials(study)), status=_status(study))

    return report


def open_study(
    settings: SearchSettings,
    storage: str | None,
    study_name: str,
    dev_size: int,
    index: int = 0,
    *,
    strategy: SearchStrategy | None = None,
) -> optuna.Study:
    """The study at `storage` (created if new), with worker `index`'s own sampler seed.

    `strategy` defaults to the one `settings` name. Raises `SettingsError` naming `--storage`
    when the storage cannot be opened.
    """
    strategy = strategy or strategy_for(settings)
    pruning = pruning_for(settings.pruner, slice_sizes(settings.dev_slices, dev_size)[0])
    return load_or_create_study(strategy, pruning, storage, study_name, index)


METRIC_NAMES = {"gold_log_prob": "gold_log_prob", "macro_f1": "macro_f1", "pareto": "macro_f1"}
"""The name optuna-dashboard shows for a study's first objective, by `settings.objective`."""


def _describe_study(
    study: optuna.Study,
    strategy: SearchStrategy,
    settings: SearchSettings,
    attrs: Mapping[str, Any],
) -> None:
    """Name a new study's objectives and record what it searches, for whoever browses the
    storage (optuna-dashboard, `optuna.load_study`)."""
    names = [METRIC_NAMES[settings.objective]]
    if len(strategy.directions) > 1:
        names.append("prompt_tokens")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(names)
    for key, value in {**attrs, "sampler": strategy.describe()}.items():
        study.set_user_attr(key, value)


def _resumed_study(
    strategy: SearchStrategy,
    space: RuleSpace,
    settings: SearchSettings,
    storage: str | None,
    study_name: str,
    dev_size: int,
    attrs: Mapping[str, Any],
) -> optuna.Study:
    """The study, its abandoned trials failed; a new one is described (`attrs`, metric names)
    and starts with the strategy's openers. A study of that name that searched other
    candidates (its "search_key" attribute) is left alone for one named with a suffix."""
    study = open_study(settings, storage, study_name, dev_size, strategy=strategy)
    recorded, searched = study.user_attrs.get("search_key"), attrs.get("search_key")
    if study.trials and recorded and searched and recorded != searched:
        # Same task, models and settings, other candidates (a teacher that answers otherwise,
        # another pldc): a study of their own, never trials over the wrong candidates.
        study = open_study(
            settings, storage, f"{study_name}-{searched[:6]}", dev_size, strategy=strategy
        )
    fail_abandoned_trials(study, storage)
    if not study.trials:
        _describe_study(study, strategy, settings, attrs)
        # Only as many openers as there are trials: the rest would wait in storage for good.
        for params in strategy.opening_trials(space)[: settings.trials]:
            study.enqueue_trial(params)
    return study


def _objective(
    study: optuna.Study,
    strategy: SearchStrategy,
    space: RuleSpace,
    evaluator: StudentEvaluator,
    dev: Sequence[Example],
    settings: SearchSettings,
    progress: Progress,
    worker: int = 0,
) -> TrialObjective:
    sizes = slice_sizes(settings.dev_slices, len(dev))
    return TrialObjective(
        study=study,
        strategy=strategy,
        space=space,
        evaluator=evaluator,
        dev=dev,
        slice_sizes=sizes,
        pruning=pruning_for(settings.pruner, sizes[0]),
        calibration=settings.calibration,
        seed=settings.seed,
        progress=progress,
        worker=worker,
        metric="gold_log_prob" if settings.objective == "gold_log_prob" else "macro_f1",
    )


@contextmanager
def _workers(
    strategy: SearchStrategy,
    space: RuleSpace,
    dev: Sequence[Example],
    settings: SearchSettings,
    storage: str | None,
    study_name: str,
    open_evaluator: Callable[[], StudentEvaluator] | None,
    evaluator: StudentEvaluator,
) -> Iterator[StudentEvaluator]:
    """The evaluator this process runs its trials on, while workers 1 to `settings.workers` - 1
    run trials in processes of their own.

    With one worker, that is `evaluator`. With more, every worker, this one included, opens
    its own student through `open_evaluator` on its share of the cores (`threads_per_worker`):
    more llama.cpp threads than cores spin-wait on each other. Raises `PLDError` if any extra
    worker stops with an error.
    """
    if settings.workers == 1:
        yield evaluator
        return
    threads = threads_per_worker(settings.workers)
    workers = [
        _worker_process(
            index, strategy, space, dev, settings, storage, study_name, open_evaluator, threads
        )
        for index in range(1, settings.workers)
    ]
    for process in workers:
        process.start()
    own = None
    try:
        with models_opened_with(threads=threads):
            own = open_evaluator()
        yield own
    finally:
        for process in workers:
            process.join()
        if own is not None:
            own.student.close()
    failed = [p.exitcode for p in workers if p.exitcode != 0]
    if failed:
        raise PLDError(
            f"{len(failed)} search worker(s) stopped with exit code(s) {failed}; finished "
            "trials are kept in the study, so rerunning the compile resumes it."
        )


def _worker_process(
    index: int,
    strategy: SearchStrategy,
    space: RuleSpace,
    dev: Sequence[Example],
    settings: SearchSettings,
    storage: str | None,
    study_name: str,
    open_evaluator: Callable[[], StudentEvaluator] | None,
    threads: int,
) -> multiprocessing.process.BaseProcess:
    return multiprocessing.get_context("spawn").Process(
        target=_worker,
        args=(open_evaluator, strategy, space.schema, space.pool, space.pinned, dev, settings),
        kwargs={
            "storage": storage,
            "study_name": study_name,
            "index": index,
            "threads": threads,
            "log_level": optuna.logging.get_verbosity(),
        },
        daemon=True,
    )


def _worker(
    open_evaluator: Callable[[], StudentEvaluator],
    strategy: SearchStrategy,
    schema: TaskSchema,
    pool: Sequence[Rule],
    pinned: Sequence[Rule],
    dev: Sequence[Example],
    settings: SearchSettings,
    *,
    storage: str,
    study_name: str,
    index: int,
    threads: int,
    log_level: int,
) -> None:
    """One extra search process: its own student on `threads` threads, its own sampler seed,
    the shared study."""
    optuna.logging.set_verbosity(log_level)  # a spawned process starts at Optuna's default
    study = open_study(settings, storage, study_name, len(dev), index, strategy=strategy)
    with models_opened_with(threads=threads):
        evaluator = open_evaluator()
    space = RuleSpace(schema, pool, pinned, settings.token_budget, evaluator.student.count_tokens)
    objective = _objective(study, strategy, space, evaluator, dev, settings, NullProgress(), index)
    run_trials(study, objective, settings.trials)


def _result(
    study: optuna.Study, space: RuleSpace, strategy: SearchStrategy, settings: SearchSettings
) -> SearchResult:
    trials = [_record(t) for t in finished_trials(study)]
    scored = [t for t in trials if not t.pruned]
    if not scored:
        raise PLDError("the search finished no trial; run it with --trials 1 or more.")
    best = max(scored, key=_ranking(settings))
    by_id = {rule.id: rule for rule in [*space.pinned, *space.pool]}
    pinned_ids = {rule.id for rule in space.pinned}
    fitted = space.fit([by_id[i] for i in best.rule_ids if i not in pinned_ids])
    workers = f", {settings.workers} workers" if settings.workers > 1 else ""
    return SearchResult(
        rule_ids=[rule.id for rule in fitted.rules],
        system_prompt=fitted.system_prompt,
        token_count=fitted.tokens,
        best_trial=best.number,
        trials=trials,
        sampler=strategy.describe() + workers,
        pareto_front=strategy.front(trials),
        study_name=study.study_name,
    )


def _ranking(settings: SearchSettings) -> Callable[[TrialRecord], tuple]:
    """The best trial's sort key: the objective's metric, the other metric as the tie-breaker
    (issue 19: a continuous one for Macro-F1), then fewer tokens, then the earlier trial."""

    def log_prob(t: TrialRecord) -> float:
        return t.gold_log_prob if t.gold_log_prob is not None else float("-inf")

    if settings.objective == "gold_log_prob":
        return lambda t: (log_prob(t), t.dev_macro_f1, -t.tokens, -t.number)
    return lambda t: (t.dev_macro_f1, log_prob(t), -t.tokens, -t.number)


def _record(trial: optuna.trial.FrozenTrial) -> TrialRecord:
    pruned = trial.state == optuna.trial.TrialState.PRUNED
    attrs = trial.user_attrs
    # Trials from before `macro_f1` was recorded had it as their value.
    macro_f1 = attrs["pruned_dev_macro_f1"] if pruned else attrs.get("macro_f1", trial.values[0])
    return TrialRecord(
        number=trial.number,
        rule_ids=attrs["rule_ids"],
        tokens=attrs["tokens"],
        dev_macro_f1=macro_f1,
        gold_log_prob=None if pruned else attrs.get("gold_log_prob"),
        dev_examples=attrs.get("dev_examples"),
        pruned=pruned,
    )


def _check_settings(
    settings: SearchSettings,
    storage: str | None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None,
) -> None:
    if settings.workers > 1 and (storage is None or open_worker_evaluator is None):
        raise SettingsError(
            f"workers = {settings.workers} needs a storage URL the workers share and a student "
            "each worker can open; run it through `pldc compile`, or pass both.",
            "workers",
        )


def _status(study: optuna.Study) -> str:
    finished = finished_trials(study)
    completed = [t for t in finished if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        return ""
    pruned = len(finished) - len(completed)
    top = max(completed, key=lambda t: t.values[0])
    if "gold_log_prob" in top.user_attrs:
        best = (
            f"best: Macro-F1 {top.user_attrs['macro_f1']:.3f}, gold log-prob "
            f"{top.user_attrs['gold_log_prob']:.3f}"
        )
    else:
        best = f"best dev macro-F1 {top.values[0]:.3f}"
    return best + (f", {pruned} pruned" if pruned else "")
