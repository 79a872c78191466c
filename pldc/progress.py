"""Progress reporting for long stages. Stages take a `Progress`; `NullProgress` says nothing."""

from __future__ import annotations

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


class RichProgress:
    """One rich display for the whole run: a line per stage with bar, count, elapsed, ETA and
    a status. Stages may nest (a search trial inside the search); a nested stage's line goes
    away when it ends, a top-level stage's line stays."""

    def __init__(self, console=None) -> None:
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

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[StageProgress]:
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
