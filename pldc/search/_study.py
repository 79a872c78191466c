"""The Optuna study: where trials are stored, how workers share its trial slots, how it resumes.

Only Optuna's public API is used. Trials a killed compile left RUNNING in a local SQLite file are
failed through `Study.tell` when the study reopens; on shared databases, heartbeats let the
other workers fail a dead worker's trial (`RDBStorage(heartbeat_interval=...)`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import optuna
from sqlalchemy.exc import SQLAlchemyError

from pldc.errors import PLDError, SettingsError
from pldc.lock import journal_file, storage_file
from pldc.search._base import SearchStrategy
from pldc.search._pruning import Pruning

_WAITING = optuna.trial.TrialState.WAITING
_LIVE = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.RUNNING,
    optuna.trial.TrialState.WAITING,
)


class NothingToRun(Exception):
    """This worker runs no further trial: every slot is taken, or the strategy has no proposal.

    The trial that raises it fails (with a user attribute saying why) and the worker stops.
    """


def load_or_create_study(
    strategy: SearchStrategy,
    pruning: Pruning,
    storage: str | None,
    study_name: str,
    worker: int = 0,
) -> optuna.Study:
    """The study at `storage` (created if new), with worker `worker`'s own sampler seed.

    Raises `SettingsError` naming `--storage` when the storage cannot be opened.
    """
    try:
        return optuna.create_study(
            directions=list(strategy.directions),
            sampler=strategy.sampler(worker),
            pruner=pruning.optuna_pruner(),
            storage=_storage(storage),
            study_name=study_name,
            load_if_exists=True,
        )
    except (ImportError, ValueError, OSError, SQLAlchemyError) as exc:
        raise SettingsError(
            f"--storage {storage}: cannot open the study there ({type(exc).__name__}: {exc}); "
            "give an Optuna storage URL such as sqlite:///study.db, journal:study.log or "
            "postgresql://user@host/db, with that database's driver installed.",
            "storage",
        ) from None


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float | Sequence[float]],
    trials: int,
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
) -> None:
    """Run trials until the study holds `trials` finished or running ones, across all workers.

    A pruned trial counts as one of the trials asked for. `objective` raises `NothingToRun` to
    stop this worker early.
    """

    def claimed(trial: optuna.Trial) -> float | Sequence[float]:
        # Storage numbers trials in creation order, so the trials before this one are exactly
        # the slots already taken; failed ones free their slot.
        earlier = [
            t for t in study.get_trials(deepcopy=False, states=_LIVE) if t.number < trial.number
        ]
        try:
            if len(earlier) >= trials:
                trial.set_user_attr("over_quota", True)
                raise NothingToRun
            return objective(trial)
        except NothingToRun:
            study.stop()
            raise

    def taken() -> int:
        # Enqueued trials wait for a slot; they must not keep the first one from being taken.
        live = study.get_trials(deepcopy=False, states=_LIVE)
        return sum(t.state != _WAITING for t in live)

    def stop_when_full(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        # Stop before asking for a trial with no slot, which would be left failed in storage.
        if taken() >= trials:
            study.stop()

    if taken() < trials:
        study.optimize(
            claimed,
            n_trials=None,
            catch=(NothingToRun,),
            callbacks=[*callbacks, stop_when_full],
        )


@contextmanager
def study_errors_reported(storage: str | None, study_name: str) -> Iterator[None]:
    """Optuna's and the database's own errors while the study runs, raised as a `PLDError`
    that names the study: no raw Optuna exception reaches the user.

    They mean the study changed under this process (another process finished or failed its
    trial), or its database failed. Errors of pldc's own code pass through unchanged.
    """
    try:
        yield
    except (optuna.exceptions.OptunaError, SQLAlchemyError, ValueError) as exc:
        if isinstance(exc, ValueError) and not _raised_by_optuna(exc):
            raise
        raise PLDError(
            f"the search study {study_name} in {storage or 'memory'} failed "
            f"({type(exc).__name__}: {exc}); did another process use it at the same time? "
            "Finished trials are kept, so rerunning the compile alone resumes the study; "
            "to share one study between processes, use --workers N."
        ) from exc


def _raised_by_optuna(exc: BaseException) -> bool:
    """Whether the innermost frame `exc` was raised in belongs to Optuna."""
    frame, traceback = None, exc.__traceback__
    while traceback is not None:
        frame, traceback = traceback.tb_frame, traceback.tb_next
    return frame is not None and frame.f_globals.get("__name__", "").startswith("optuna")


def fail_abandoned_trials(study: optuna.Study, storage: str | None) -> None:
    """Trials a killed compile left RUNNING never finish; fail them so their slots rerun.

    Only for storage no other compile uses at the same time (in memory or a local SQLite file):
    on a shared database a RUNNING trial may be another machine's, and heartbeats judge it.
    """
    if _shared(storage):
        return
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Completed and pruned trials, in creation order."""
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=states)


def _shared(storage: str | None) -> bool:
    """Storage other compiles may use at the same time: anything but a local SQLite or
    journal file, which the compile locks (`pldc.lock`)."""
    return storage is not None and storage_file(storage) is None


def _storage(url: str | None) -> optuna.storages.BaseStorage | None:
    if url is None:
        return None
    journal = journal_file(url)
    if journal is not None:
        if not journal.name or journal.is_dir() or not journal.parent.is_dir():
            raise ValueError(f"{journal} is not a file in an existing folder")
        # Optuna's journal file: one append-only log, readable by optuna-dashboard; worker
        # processes on this machine share it through its file lock.
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(str(journal)))
    if url.startswith("sqlite"):
        # Worker processes write to one SQLite file; wait for its lock instead of failing.
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    # Shared databases: a worker that dies leaves its trial RUNNING; heartbeats let the others
    # fail it and take its slot.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, heartbeat_interval=30, grace_period=120)
