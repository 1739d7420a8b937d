"""Per-user session state behind a small store interface (in-process now; Redis when replicas share users).

Every online request needs the user's session number and the request's step within the session: they key the
recommenders' counter-based randomness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["InMemoryStore", "SessionCounters", "StateStore"]


@dataclass(frozen=True)
class SessionCounters:
    """The user's current session number and the number of ``/next`` calls in it so far."""

    session: int = 0
    step: int = 0


class StateStore(Protocol):
    """Where per-user session state lives."""

    def next_step(self, user: int) -> SessionCounters:
        """Counters for a ``/next`` request, then advance the step."""
        ...

    def end_session(self, user: int) -> SessionCounters:
        """Counters of the ending session, then start the user's next session."""
        ...


class InMemoryStore:
    """A dict in this process (single replica)."""

    def __init__(self) -> None:
        self._counters: dict[int, SessionCounters] = {}

    def next_step(self, user: int) -> SessionCounters:
        """Counters for a ``/next`` request, then advance the step."""
        current = self._counters.get(user, SessionCounters())
        self._counters[user] = SessionCounters(current.session, current.step + 1)
        return current

    def end_session(self, user: int) -> SessionCounters:
        """Counters of the ending session, then start the user's next session."""
        current = self._counters.get(user, SessionCounters())
        self._counters[user] = SessionCounters(current.session + 1, 0)
        return current
