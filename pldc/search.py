"""Search: an Optuna study picks which rules to keep, and in what order, under a token budget.

Each rule gets a keep/drop switch and a rank. A trial's prompt is the task's pinned rules, then
the kept rules by rank; if the rendered system prompt exceeds the budget, the lowest-ranked
rules are dropped until it fits, so no trial ever exceeds the budget. Pinned rules are never
dropped. The objective is the student's dev Macro-F1, or, in Pareto mode, Macro-F1 against
prompt tokens.

Trials live in Optuna storage. Several processes (`workers`) can share one study; each trial
first claims one of the `trials` slots, so together they run exactly that many.
"""

from __future__ import annotations

import multiprocessing
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import optuna
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from pldc.data import Example, round_robin_sample
from pldc.errors import BudgetError, PLDError, SettingsError
from pldc.evaluate import StudentEvaluator
from pldc.progress import NullProgress, Progress
from pldc.records import Rule, TrialRecord
from pldc.render import render_system_prompt
from pldc.task import TaskSchema

if TYPE_CHECKING:
    from pldc.settings import SearchSettings  # declared with every other setting

PrunerName = Literal["none", "successive_halving", "median"]
SearchObjective = Literal["macro_f1", "pareto"]
SamplerName = Literal["tpe", "random"]


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
    pinned: Sequence[Rule] = (),
) -> FittedPrompt:
    """The pinned rules plus the longest prefix of `ranked_rules` whose prompt fits the budget."""
    kept = list(ranked_rules)
    while True:
        rules = [*pinned, *kept]
        prompt = render_system_prompt(schema, [rule.text for rule in rules])
        tokens = count_tokens(prompt)
        if tokens <= token_budget:
            return FittedPrompt(rules, prompt, tokens)
        if not kept:
            if pinned:
                raise BudgetError(
                    f"--budget {token_budget} tokens cannot hold the prompt scaffold with the "
                    f"task file's pinned_rules ({tokens} tokens, counted with the student's "
                    f"tokenizer); raise the budget to at least {tokens} or shorten pinned_rules."
                )
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
    pinned: Sequence[Rule] = (),
    storage: str | None = None,
    study_name: str = "pldc",
    progress: Progress | None = None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None = None,
) -> SearchResult:
    """Run the study to `settings.trials` finished trials and return its best prompt.

    With `settings.workers` > 1, the extra workers are processes that call
    `open_worker_evaluator` (a picklable factory) for a student of their own.
    """
    progress = progress or NullProgress()
    count_tokens = evaluator.student.count_tokens
    fit_to_budget(schema, [], count_tokens, settings.token_budget, pinned)  # fail fast
    _check_settings(settings, storage, open_worker_evaluator)

    study = open_study(settings, storage, study_name, len(dev))
    if not _shared(storage):
        _fail_abandoned_trials(study)
    if not study.trials and pool:
        # Start from the teacher's own order with every rule kept, trimmed to the budget.
        study.enqueue_trial(
            {f"use:{rule.id}": True for rule in pool}
            | {f"rank:{rule.id}": i / len(pool) for i, rule in enumerate(pool)}
        )
    objective = _Objective(schema, pool, pinned, evaluator, dev, settings, progress)

    with progress.stage("search", total=settings.trials) as stage:
        stage.update(completed=len(_finished(study)), status=_status(study))

        def report(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
            stage.update(completed=len(_finished(study)), status=_status(study))

        spawn = multiprocessing.get_context("spawn")
        workers = [
            spawn.Process(
                target=_worker,
                args=(open_worker_evaluator, schema, pool, pinned, dev, settings, storage),
                kwargs={"study_name": study_name, "index": index},
                daemon=True,
            )
            for index in range(1, settings.workers)
        ]
        evaluator.student.share_cpu(settings.workers)
        for process in workers:
            process.start()
        try:
            run_trials(study, objective, settings.trials, callbacks=[report])
        finally:
            for process in workers:
                process.join()
            evaluator.student.share_cpu(1)
        failed = [p.exitcode for p in workers if p.exitcode != 0]
        if failed:
            raise PLDError(
                f"{len(failed)} search worker(s) stopped with exit code(s) {failed}; finished "
                "trials are kept in the study, so rerunning the compile resumes it."
            )
        report(study, None)
    return _result(schema, pool, pinned, count_tokens, settings, study)


def open_study(
    settings: SearchSettings, storage: str | None, study_name: str, dev_size: int, index: int = 0
) -> optuna.Study:
    """The study at `storage` (created if new), with this worker's own sampler seed."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    pareto = settings.objective == "pareto"
    try:
        return optuna.create_study(
            directions=["maximize", "minimize"] if pareto else ["maximize"],
            sampler=_sampler(settings, index),
            pruner=_pruner(settings, dev_size),
            storage=_storage(storage),
            study_name=study_name,
            load_if_exists=True,
        )
    except (ImportError, ValueError, SQLAlchemyError) as exc:
        raise SettingsError(
            f"--storage {storage}: cannot open the study there ({type(exc).__name__}: {exc}); "
            "give an Optuna storage URL such as sqlite:///study.db or "
            "postgresql://user@host/db, with that database's driver installed.",
            "storage",
        ) from None


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float | tuple[float, float]],
    trials: int,
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
) -> None:
    """Run trials until the study holds `trials` finished or running ones, across all workers.

    A pruned trial counts as one of the trials asked for.
    """

    def claimed(trial: optuna.Trial):
        # Storage numbers trials in creation order, so the trials before this one are exactly
        # the slots already taken; failed ones free their slot.
        earlier = [
            t
            for t in trial.study.get_trials(deepcopy=False, states=_LIVE)
            if t.number < trial.number
        ]
        if len(earlier) >= trials:
            trial.set_user_attr("over_quota", True)
            trial.study.stop()
            raise _OverQuota
        return objective(trial)

    if len(study.get_trials(deepcopy=False, states=_LIVE)) < trials:
        study.optimize(claimed, n_trials=None, catch=(_OverQuota,), callbacks=list(callbacks))


class _OverQuota(Exception):
    """Every trial slot is taken; this worker is done."""


_LIVE = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.RUNNING,
    optuna.trial.TrialState.WAITING,
)


@dataclass
class _Objective:
    schema: TaskSchema
    pool: Sequence[Rule]
    pinned: Sequence[Rule]
    evaluator: StudentEvaluator
    dev: Sequence[Example]
    settings: SearchSettings
    progress: Progress
    worker: int = 0

    def __post_init__(self) -> None:
        # Slices grow along a label-interleaved order, so even the first slice sees every label.
        self.ordered_dev = round_robin_sample(
            self.dev, len(self.dev), random.Random(self.settings.seed)
        )
        self.slice_sizes = _slice_sizes(self.settings.dev_slices, len(self.dev))

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        ranked = []
        for rule in self.pool:
            keep = trial.suggest_categorical(f"use:{rule.id}", [True, False])
            rank = trial.suggest_float(f"rank:{rule.id}", 0.0, 1.0)
            if keep:
                ranked.append((rank, rule.id, rule))
        ranked.sort(key=lambda item: (item[0], item[1]))
        fitted = fit_to_budget(
            self.schema,
            [r for *_, r in ranked],
            self.evaluator.student.count_tokens,
            self.settings.token_budget,
            self.pinned,
        )
        trial.set_user_attr("rule_ids", [rule.id for rule in fitted.rules])
        trial.set_user_attr("tokens", fitted.tokens)
        trial.set_user_attr("worker", self.worker)
        for size in self.slice_sizes:
            with self.progress.stage(f"trial {trial.number}: dev[:{size}]", total=size) as stage:
                scores, _ = self.evaluator.calibrated(
                    self.settings.calibration, fitted.system_prompt, self.ordered_dev[:size], stage
                )
            trial.set_user_attr("dev_examples", size)
            if size < len(self.dev) and self.settings.pruner != "none":
                trial.report(scores.macro_f1, step=size)
                if trial.should_prune():
                    trial.set_user_attr("pruned_dev_macro_f1", scores.macro_f1)
                    raise optuna.TrialPruned()
        if self.settings.objective == "pareto":
            return scores.macro_f1, float(fitted.tokens)
        return scores.macro_f1


def _worker(
    open_evaluator: Callable[[], StudentEvaluator],
    schema: TaskSchema,
    pool: Sequence[Rule],
    pinned: Sequence[Rule],
    dev: Sequence[Example],
    settings: SearchSettings,
    storage: str,
    *,
    study_name: str,
    index: int,
) -> None:
    """One extra search process: its own student and sampler seed, the shared study."""
    study = open_study(settings, storage, study_name, len(dev), index)
    evaluator = open_evaluator()
    evaluator.student.share_cpu(settings.workers)
    objective = _Objective(schema, pool, pinned, evaluator, dev, settings, NullProgress(), index)
    run_trials(study, objective, settings.trials)


def _result(
    schema: TaskSchema,
    pool: Sequence[Rule],
    pinned: Sequence[Rule],
    count_tokens: Callable[[str], int],
    settings: SearchSettings,
    study: optuna.Study,
) -> SearchResult:
    finished = _completed(study)
    if not finished:
        raise PLDError("the search finished no trial; run it with --trials 1 or more.")
    best = max(finished, key=lambda t: (t.values[0], -t.user_attrs["tokens"], -t.number))
    by_id = {rule.id: rule for rule in [*pinned, *pool]}
    chosen = [by_id[rule_id] for rule_id in best.user_attrs["rule_ids"]]
    chosen = [rule for rule in chosen if rule not in pinned]
    fitted = fit_to_budget(schema, chosen, count_tokens, settings.token_budget, pinned)
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
                dev_macro_f1=t.values[0]
                if t.values is not None
                else t.user_attrs["pruned_dev_macro_f1"],
                dev_examples=t.user_attrs.get("dev_examples"),
                pruned=t.state == optuna.trial.TrialState.PRUNED,
            )
            for t in _finished(study)
        ],
        sampler=_sampler_name(settings),
        pareto_front=_front(finished) if settings.objective == "pareto" else None,
    )


def _front(trials: Sequence[optuna.trial.FrozenTrial]) -> list[FrontPoint]:
    """Trials no other trial beats on both Macro-F1 and tokens, shortest first.

    Of several prompts with the same tokens and Macro-F1, the earliest trial speaks for them.
    """
    points: dict[tuple[int, float], FrontPoint] = {}
    for t in sorted(trials, key=lambda t: (t.user_attrs["tokens"], -t.values[0], t.number)):
        f1, tokens = t.values[0], t.user_attrs["tokens"]
        dominated = any(
            o.values[0] >= f1
            and o.user_attrs["tokens"] <= tokens
            and (o.values[0] > f1 or o.user_attrs["tokens"] < tokens)
            for o in trials
        )
        if not dominated and (tokens, f1) not in points:
            points[tokens, f1] = FrontPoint(
                trial=t.number, rule_ids=t.user_attrs["rule_ids"], tokens=tokens, dev_macro_f1=f1
            )
    return list(points.values())


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


def _sampler(settings: SearchSettings, index: int) -> optuna.samplers.BaseSampler:
    # Each worker gets its own seed, or they would propose the same trials.
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=settings.seed + index)
    # Optuna's default of 10 random start-up trials would leave a short search purely random.
    # The constant liar keeps parallel workers from converging on one running trial's region.
    return optuna.samplers.TPESampler(
        seed=settings.seed + index,
        n_startup_trials=_startup_trials(settings),
        constant_liar=settings.workers > 1,
    )


def _startup_trials(settings: SearchSettings) -> int:
    return max(3, settings.trials // 3)


def _sampler_name(settings: SearchSettings) -> str:
    workers = f", {settings.workers} workers" if settings.workers > 1 else ""
    objective = ", Pareto: dev macro-F1 vs tokens" if settings.objective == "pareto" else ""
    if settings.sampler == "random":
        return f"RandomSampler(seed={settings.seed})" + objective + workers
    return (
        f"TPESampler(seed={settings.seed}, n_startup_trials={_startup_trials(settings)})"
        + objective
        + workers
    )


def _shared(storage: str | None) -> bool:
    """Storage other compiles may use at the same time: anything but a local SQLite file."""
    return storage is not None and not storage.startswith("sqlite")


def _storage(url: str | None) -> optuna.storages.BaseStorage | None:
    if url is None:
        return None
    if url.startswith("sqlite"):
        # Worker processes write to one SQLite file; wait for its lock instead of failing.
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    # Shared databases: a worker that dies leaves its trial RUNNING; heartbeats let the others
    # fail it and take its slot.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, heartbeat_interval=30, grace_period=120)


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
    best = f"best dev macro-F1 {max(t.values[0] for t in completed):.3f}"
    return best + (f", {pruned} pruned" if pruned else "")


def _fail_abandoned_trials(study: optuna.Study) -> None:
    """Trials left RUNNING by a killed compile never finish; mark them failed so they rerun."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
