"""What every agent does: play a range of episodes and return their sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from botify.sim.engine import SessionResults

__all__ = ["Agent", "Progress"]

Progress = Callable[[int], None]


class Agent(Protocol):
    """Plays episodes (global episode numbers) against some recommender and reports their sessions."""

    def play(self, episodes: range, *, seed: int, progress: Progress | None = None) -> SessionResults:
        """Play the episodes; ``progress(n)`` is called as sessions finish."""
        ...
