"""Progress reporting for long stages. Stages take a `Progress`; `NullProgress` says nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class StageProgress(Protocol):
    def advance(self, steps: int = 1, *, status: str | None = None) -> None: ...

    def update(
        self, *, completed: int | None = None, total: int | None = None, status: str | None = None
    ) -> None: ...


class Progress(Protocol):
    def stage(
        self, description: str, total: int | None = None
    ) -> AbstractContextManager[StageProgress]: ...


def note(progress: Progress, text: str) -> None:
    """Say `text` on a line of its own through `progress`, if it says notes (`RichProgress`
    does; a user's own `Progress` may have no `note`)."""
    say = getattr(progress, "note", None)
    if say is not None:
        say(text)


class _SilentStage:
    def advance(self, steps: int = 1, *, status: str | None = None) -> None:
        pass

    def update(
        self, *, completed: int | None = None, total: int | None = None, status: str | None = None
    ) -> None:
        pass


class NullProgress:
    """Reports nothing: the default for library calls and tests."""

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[StageProgress]:
        yield _SilentStage()

    def note(self, text: str) -> None:
        pass


class _RichStage:
    def __init__(self, bar, task_id) -> None:
        self._bar = bar
        self._task_id = task_id

    def advance(self, steps: int = 1, *, status: str | None = None) -> None:
        fields = {} if status is None else {"status": status}
        self._bar.update(self._task_id, advance=steps, **fields)

    def update(
        self, *, completed: int | None = None, total: int | None = None, status: str | None = None
    ) -> None:
        fields = {} if status is None else {"status": status}
        self._bar.update(self._task_id, completed=completed, total=total, **fields)


class _PlainStage:
    """A stage's progress as plain lines, for output that is no terminal (a CI log, a pipe):
    one line every `every` seconds with the count, elapsed time, ETA and status."""

    def __init__(self, console, description: str, total: int | None, every: float) -> None:
        self._console, self._description, self._total = console, description, total
        self._every, self._completed, self._status = every, 0, ""
        self.started = self._last = time.monotonic()

    def advance(self, steps: int = 1, *, status: str | None = None) -> None:
        self.update(completed=self._completed + steps, status=status)

    def update(
        self, *, completed: int | None = None, total: int | None = None, status: str | None = None
    ) -> None:
        self._completed = self._completed if completed is None else completed
        self._total = self._total if total is None else total
        self._status = self._status if status is None else status
        if time.monotonic() - self._last >= self._every:
            self._last = time.monotonic()
            self._console.print(self.line("…"), soft_wrap=True, highlight=False, markup=False)

    def line(self, state: str) -> str:
        elapsed = time.monotonic() - self.started
        count = f"{self._completed}/{self._total}" if self._total else f"{self._completed}"
        eta = ""
        if state == "…" and self._total and 0 < self._completed < self._total:
            eta = f", eta {elapsed / self._completed * (self._total - self._completed):.0f} s"
        status = f" {self._status}" if self._status else ""
        return f"[{state}] {self._description}: {count} in {elapsed:.0f} s{eta}{status}"


class RichProgress:
    """One rich display for the whole run: a line per stage with bar, count, elapsed, ETA and
    a status. Stages may nest (a search trial inside the search); a nested stage's line goes
    away when it ends, a top-level stage's line stays.

    When the console is no terminal (a CI log, `nohup`, a pipe), it prints plain lines
    instead: one when a stage starts, one when it ends, with its count and seconds, and one
    every `every` seconds between (count, ETA, status such as the best score so far)."""

    def __init__(self, console=None, *, every: float = 30.0) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self.console = console or Console(stderr=True)
        self._bar = RichBar(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
        )
        self._depth = 0
        self._every = every

    def note(self, text: str) -> None:
        """One line of its own, between stages (what the compile is about to do)."""
        self.console.print(text, soft_wrap=True, highlight=False, markup=False)

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[StageProgress]:
        if not self.console.is_terminal:
            with self._plain_stage(description, total) as stage:
                yield stage
            return
        if self._depth == 0:
            self._bar.start()
        self._depth += 1
        task_id = self._bar.add_task(description, total=total, status="")
        try:
            yield _RichStage(self._bar, task_id)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._bar.stop()  # leaves the finished line printed
            self._bar.remove_task(task_id)

    @contextmanager
    def _plain_stage(self, description: str, total: int | None) -> Iterator[StageProgress]:
        stage = _PlainStage(self.console, description, total, self._every)
        self.console.print(stage.line("start"), soft_wrap=True, highlight=False, markup=False)
        yield stage
        self.console.print(stage.line("done"), soft_wrap=True, highlight=False, markup=False)
