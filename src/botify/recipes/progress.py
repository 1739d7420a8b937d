"""Progress bars drawn for the library's ``progress(stage, done, total)`` callbacks (``botify.progress``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from botify.progress import ProgressCallback

__all__ = ["progress_bars"]


@contextmanager
def progress_bars(console: Console, unit: str = "", *, transient: bool = False,
                  enabled: bool = True) -> Iterator[ProgressCallback]:
    """A rich bar per stage, advanced by the callback it yields (a stage of unknown size shows a count)."""
    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                  TimeElapsedColumn(), console=console, transient=transient, disable=not enabled) as bar:
        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done)

        yield advance
