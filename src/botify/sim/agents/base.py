"""What every agent does: play a range of episodes and return their sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from botify.sim.engine import SessionResults
from botify.sim.returns import ListenFactors

__all__ = ["Agent", "Episodes", "Progress"]

Progress = Callable[[int], None]
Episodes = range | npt.NDArray[np.int64]


class Agent(Protocol):
    """Plays episodes (global episode numbers) against some recommender and reports their sessions."""

    def play(self, episodes: Episodes, *, seed: int, progress: Progress | None = None,
             users: npt.NDArray[np.int64] | None = None, returns: ListenFactors | None = None) -> SessionResults:
        """Play the episodes (ascending); ``progress(n)`` is called as sessions finish.

        ``users`` fixes each episode's user and ``returns`` is the return model's state (``botify.sim.days``).
        """
        ...
