"""Start a model's final fit while its evaluation run is still choosing how many epochs it should last.

The pipeline evaluates an epoch-trained model with early stopping on an 80 % split, then refits it on all the
data for the number of epochs the evaluation chose (``fixed_epochs``). A fit's first ``b`` epochs are those of a
``b``-epoch fit (same seed, same shuffles, no learning-rate schedule), so the final fit need not wait: it
trains on, never past the epochs the evaluation has validated, keeps a copy of its state at the evaluation's best
epoch so far, and stops at that epoch, or goes back to its copy, once the evaluation has ended. The artifact is
the same bits as a final fit started afterwards.

The evaluation posts its progress to an ``EpochBoard`` (small JSON files in a directory, so that it works
between processes); the final fit reads it through a ``Follower``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from botify.errors import LabError

__all__ = ["Abandoned", "EpochBoard", "EpochTrained", "Follower", "Progress", "Stop"]


class Abandoned(LabError):
    """The evaluation this fit follows failed, or the run was stopped: the fit is of no use."""


@runtime_checkable
class EpochTrained(Protocol):
    """A model trained in epochs whose final fit can follow its evaluation (the built-in DSSM and Contextual)."""

    epochs: int  # at most this many
    fixed_epochs: int | None  # train exactly this many, unvalidated
    best_epochs_: int  # after a fit: the epochs of the kept state
    on_validated: Callable[[int, int], None] | None  # told ``(epochs, best_epochs)`` after each validated epoch
    follow: Follower | None  # asked after each epoch of a fixed-length fit


@dataclass(frozen=True)
class Progress:
    """What an evaluation run has posted: epochs validated, its best epoch so far, whether it has ended."""

    validated: int = 0
    best: int = 0
    ended: bool = False
    failed: bool = False
    result: dict[str, Any] | None = None


class EpochBoard:
    """Progress of evaluation runs by key, readable from any process on the machine."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def post(self, key: str, progress: Progress) -> None:
        """Publish ``progress`` for ``key`` (readers see the previous post or this one, never half of it)."""
        path = self.directory / f"{key}.json"
        part = path.with_suffix(f".{os.getpid()}.part")
        part.write_text(json.dumps(progress.__dict__))
        part.replace(path)

    def read(self, key: str) -> Progress:
        """The latest progress of ``key``; raises ``Abandoned`` once it failed or the board was stopped."""
        if (self.directory / "stopped").exists():
            raise Abandoned("the run was stopped")
        try:
            progress = Progress(**json.loads((self.directory / f"{key}.json").read_text()))
        except FileNotFoundError:
            return Progress()
        if progress.failed:
            raise Abandoned(f"the evaluation of {key!r} failed")
        return progress

    def stop(self) -> None:
        """Tell every follower to give up (a fit failed elsewhere, or the run is ending)."""
        (self.directory / "stopped").touch()

    def validated(self, key: str) -> Callable[[int, int], None]:
        """The callback an evaluation run calls after each validated epoch: ``(epochs, best_epochs)``.

        It raises ``Abandoned`` when the board was stopped, so that an evaluation nobody needs ends early too.
        """
        def post(epochs: int, best: int) -> None:
            self.read(key)
            self.post(key, Progress(validated=epochs, best=best))

        return post


@dataclass(frozen=True)
class Stop:
    """End the final fit after ``epochs`` epochs; ``state``, when set, is the copy to go back to."""

    epochs: int
    state: Any = None


class Follower:
    """Tells a final fit, after each epoch, whether to go on (see the module docstring)."""

    def __init__(self, board: EpochBoard, key: str, *, poll_seconds: float = 0.1) -> None:
        self.board, self.key, self.poll_seconds = board, key, poll_seconds
        self._kept: tuple[int, Any] | None = None

    def after_epoch(self, epochs: int, state: Callable[[], Any]) -> Stop | None:
        """Called once ``epochs`` epochs are done; ``state()`` copies the model's state. ``None``: go on."""
        while not (progress := self.board.read(self.key)).ended and progress.validated < epochs:
            time.sleep(self.poll_seconds)  # never train past what the evaluation has validated
        if progress.ended and progress.best == epochs:
            return Stop(epochs)
        if progress.ended and progress.best < epochs:
            assert self._kept is not None and self._kept[0] == progress.best, "no copy of the best epoch was kept"
            return Stop(progress.best, self._kept[1])
        if progress.best == epochs:  # the best so far: it is the final length unless a later epoch does better
            self._kept = (epochs, state())
        return None
