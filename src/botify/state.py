"""Per-user session state behind a small store interface (in-process now; Redis when replicas share users).

Every online request needs the user's session number and the request's step within the session: they key
the recommenders' counter-based randomness. ``next_step`` returns the counters for a ``/next`` request and
advances the step; ``end_session`` (on ``/last``) starts the user's next session.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["InMemoryStore", "StateStore"]


class StateStore(Protocol):
    """Where per-user session counters live."""

    def next_step(self, user: int) -> tuple[int, int]:
        """``(session, step)`` for a ``/next`` request, then advance the step."""
        ...

    def end_session(self, user: int) -> tuple[int, int]:
        """``(session, steps)`` of the ending session, then start the next one (and forget its state)."""
        ...

    def get_state(self, user: int) -> bytes | None:
        """A stateful recommender's encoded session state, or ``None`` (never stored, ended, or idle too long)."""
        ...

    def put_state(self, user: int, state: bytes) -> None:
        """Store the encoded session state (its idle timeout restarts)."""
        ...


class InMemoryStore:
    """A dict in this process: exact for one worker; with several workers each keeps its own counters.

    Session state idle for more than ``ttl`` seconds is forgotten (a session whose ``/last`` never came).
    """

    def __init__(self, ttl: float = 1800.0) -> None:
        self.ttl = ttl
        self._counters: dict[int, tuple[int, int]] = {}
        self._states: dict[int, tuple[float, bytes]] = {}

    def next_step(self, user: int) -> tuple[int, int]:
        """``(session, step)`` for a ``/next`` request, then advance the step."""
        session, step = self._counters.get(user, (0, 0))
        self._counters[user] = (session, step + 1)
        return session, step

    def end_session(self, user: int) -> tuple[int, int]:
        """``(session, steps)`` of the ending session, then start the next one."""
        session, step = self._counters.get(user, (0, 0))
        self._counters[user] = (session + 1, 0)
        self._states.pop(user, None)
        return session, step

    def get_state(self, user: int) -> bytes | None:
        """The stored state unless it idled past ``ttl``."""
        entry = self._states.get(user)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self.ttl:
            del self._states[user]
            return None
        return entry[1]

    def put_state(self, user: int, state: bytes) -> None:
        """Store the state, stamped now."""
        self._states[user] = (time.monotonic(), state)
