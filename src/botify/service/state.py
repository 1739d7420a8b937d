"""Per-user session state behind a small store interface (in-process now; Redis when replicas share users).

Every online request needs the user's session number and the request's step within the session: they key
the recommenders' counter-based randomness. ``next_step`` returns the counters for a ``/next`` request and
advances the step; ``end_session`` (on ``/last``) starts the user's next session.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["InMemoryStore", "StateStore"]


class StateStore(Protocol):
    """Where per-user session counters live."""

    def next_step(self, user: int) -> tuple[int, int]:
        """``(session, step)`` for a ``/next`` request, then advance the step."""
        ...

    def end_session(self, user: int) -> tuple[int, int]:
        """``(session, steps)`` of the ending session, then start the next one."""
        ...


class InMemoryStore:
    """A dict in this process: exact for one worker; with several workers each keeps its own counters."""

    def __init__(self) -> None:
        self._counters: dict[int, tuple[int, int]] = {}

    def next_step(self, user: int) -> tuple[int, int]:
        """``(session, step)`` for a ``/next`` request, then advance the step."""
        session, step = self._counters.get(user, (0, 0))
        self._counters[user] = (session, step + 1)
        return session, step

    def end_session(self, user: int) -> tuple[int, int]:
        """``(session, steps)`` of the ending session, then start the next one."""
        session, step = self._counters.get(user, (0, 0))
        self._counters[user] = (session + 1, 0)
        return session, step
