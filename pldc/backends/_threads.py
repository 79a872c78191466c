"""How many CPU threads a local model runs on, chosen when the model is opened.

By default a model runs on every core this process may use (its CPU affinity where the
platform reports one, else the machine's core count). `PLDC_THREADS=N` overrides that for every
model pldc opens, and `open_model(name, threads=N)` for one model. Search workers split the
threads between them: more llama.cpp threads than cores spin-wait on each other, and two
2-thread workers on 2 cores ran a search about 8x slower than two 1-thread workers.

Nothing here is read on import; the environment is read when a model is opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pldc.errors import SettingsError

THREADS_VARIABLE = "PLDC_THREADS"

_opened_with: ContextVar[int | None] = ContextVar("pldc_model_threads", default=None)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where known, else `os.cpu_count()`."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def machine_threads() -> int:
    """The threads one model gets by default: `PLDC_THREADS` if set, else `usable_cores()`.

    Raises:
        SettingsError: PLDC_THREADS is set to something other than a positive whole number.
    """
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if not value:
        return usable_cores()
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(
            f"{THREADS_VARIABLE}={value!r} is not a thread count; set it to a positive whole "
            "number such as 2, or unset it to use every usable core.",
            THREADS_VARIABLE,
        )
    return int(value)


def describe_threads() -> str:
    """One line for `pldc doctor`: the threads a model gets, and where that number comes from.

    Raises:
        SettingsError: PLDC_THREADS is malformed.
    """
    threads = machine_threads()
    source = (
        f"set by {THREADS_VARIABLE}"
        if os.environ.get(THREADS_VARIABLE, "").strip()
        else f"{usable_cores()} usable cores"
    )
    return f"{threads} per local model ({source}); search workers divide them"


def threads_per_worker(workers: int) -> int:
    """Each of `workers` processes' share of `machine_threads()`, at least 1."""
    return max(1, machine_threads() // max(1, workers))


def model_threads(threads: int | None = None) -> int:
    """The threads a model being opened runs on: `threads` if given, else those of the
    enclosing `models_opened_with` block, else `machine_threads()`.

    Raises:
        SettingsError: `threads` is below 1, or PLDC_THREADS is malformed.
    """
    chosen = threads if threads is not None else _opened_with.get()
    if chosen is None:
        return machine_threads()
    if chosen < 1:
        raise SettingsError(f"threads={chosen} is not a thread count; use 1 or more.", "threads")
    return chosen


@contextmanager
def models_opened_with(*, threads: int) -> Iterator[None]:
    """Models opened inside the block without an explicit `threads` run on `threads` threads.

    A search worker opens its student through a factory it does not control; this gives that
    student the worker's share of the cores. Scoped to the block (and the current thread or
    task), so nothing outside it changes.
    """
    token = _opened_with.set(threads)
    try:
        yield
    finally:
        _opened_with.reset(token)
