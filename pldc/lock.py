"""One compile at a time in a run directory, and in a local SQLite study file.

Two compiles sharing a run directory would append to the same stores, and each would fail the
other's running trials as abandoned when it opens the study (`fail_abandoned_trials`), which
ends in Optuna errors or in more trials than asked for. So `compile_task` holds an exclusive
lock on the run directory, and on a SQLite file given as `--storage`, for as long as it runs,
and a second compile is refused at once with a `BusyError` that names what is taken.

The locks are the operating system's file locks (`flock`), which end with the process however
it ends: a killed compile leaves nothing to clean up, and rerunning it resumes. Search workers
(`--workers N`) share their compile's study without taking a lock; they are how several
processes work on one study, besides a database server given as `--storage`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from pldc.errors import BusyError, SettingsError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

LOCK_FILE = "compile.lock"
"""In the run directory; it holds the process id of the compile that last took the lock."""


@contextmanager
def compile_lock(run_dir: Path, storage: str | None, *, create: bool = True) -> Iterator[None]:
    """Hold the run directory and, if `storage` is a SQLite file, that file, until the block
    ends. Raises `BusyError` at once if another process holds either. With `create=False` it
    only checks: it writes nothing, and a lock file that does not exist yet is free."""
    with ExitStack() as stack:
        for lock_path, what, fix in _locks(run_dir, storage):
            if create or lock_path.exists():
                stack.enter_context(_exclusive(lock_path, what, fix, create))
        yield


def _locks(run_dir: Path, storage: str | None) -> list[tuple[Path, str, str]]:
    """(lock file, what it guards, the fix) for the run directory and a SQLite study file."""
    locks = [
        (
            run_dir / LOCK_FILE,
            f"the run directory {run_dir}",
            "give this compile a run directory of its own (--run-dir)",
        )
    ]
    database = storage_file(storage)
    if database is not None and database.name:  # a storage without a file name fails later
        # Not "<file>.lock": Optuna's journal file backend takes that name for its own lock.
        locks.append(
            (
                database.with_name(database.name + ".pldc-lock"),
                f"the study storage {storage}",
                "give this compile a storage of its own (--storage); compiles on several "
                "machines share one study through a database server (postgresql://…)",
            )
        )
    return locks


@contextmanager
def _exclusive(lock_path: Path, what: str, fix: str, create: bool = True) -> Iterator[None]:
    if create and lock_path.name == LOCK_FILE:  # a run directory is made; a storage's is not
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    if create and not lock_path.parent.is_dir():
        raise SettingsError(
            f"{what}: folder {lock_path.parent} does not exist; create it or give another path.",
            "storage",
        )
    with lock_path.open("a+" if create else "r") as handle:
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip()
            process = f" (process {holder})" if holder.isdigit() else ""
            raise BusyError(
                f"another pldc compile{process} is using {what}; wait for it to finish, or "
                f"{fix}. To run one search in several processes, use --workers N."
            )
        if create:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        try:
            yield
        finally:
            _unlock(handle)


def _try_lock(handle: IO[str]) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            handle.seek(0)  # msvcrt locks bytes from the current position
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    else:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


JOURNAL = "journal:"
"""The `--storage` prefix of an Optuna journal file, e.g. journal:.pldc/study.log."""


def journal_file(storage: str | None) -> Path | None:
    """The file of a journal storage (`journal:PATH`, `journal:///abs/path`); None otherwise."""
    if storage is None or not storage.startswith(JOURNAL):
        return None
    rest = storage[len(JOURNAL) :]
    return Path(rest[2:] if rest.startswith("//") else rest).expanduser()


def storage_file(storage: str | None) -> Path | None:
    """The local file a storage keeps its study in (SQLite or journal); None for a database
    server, or in memory."""
    journal = journal_file(storage)
    if journal is not None:
        return journal
    if storage is None or not storage.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(storage).database
    except ArgumentError:
        return None  # the search names the storage URL it cannot open
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)
