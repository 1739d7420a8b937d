"""Progress bars for the library layers' ``progress(stage, done, total)`` callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from botify.cli.common import console

__all__ = ["fit_progress"]


@contextmanager
def fit_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A rich bar per stage, advanced by the callback it yields."""
    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("epochs"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield advance
