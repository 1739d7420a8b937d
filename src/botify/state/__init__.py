"""Per-user session state behind a small store interface (in-process now; Redis when replicas share users).

Every online request needs the user's session number and the request's step within the session: they key
the recommenders' counter-based randomness, and the service logs them so that the analysis orders a user's
lines exactly, whichever replica answered. ``next_step`` returns the counters for a ``/next`` request and
advances the step; ``end_session`` (on ``/last``) starts the user's next session.

A request may carry an id (the ``X-Request-Id`` header). A request id seen in the last ``REQUEST_TTL`` seconds
(in-process: up to twice that) is a retry: the store returns the counters it gave the first time, without
advancing them, and ``get_state`` returns the session state as it was before the first attempt. A recommender's
answer is a function of the request, the counters and that state (its draws are counter-based), so the retry
gets the same answer.
"""

from __future__ import annotations

import time
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["REQUEST_TTL", "AsyncStateStore", "Counters", "InMemoryStore", "StateStore", "now_ms"]

REQUEST_TTL = 60.0
"""Seconds a request id is remembered (a retry later than this counts as a new request)."""


def now_ms() -> int:
    """Wall-clock milliseconds: the unit of log timestamps and counter epochs."""
    return int(time.time() * 1000)


class Counters(NamedTuple):
    """What the store says about one request.

    ``epoch`` is when the counters began (ms): counters restart from zero when the store does (a restarted
    service, a Redis that lost its keys), so a user's lines are ordered by ``(epoch, session, step)``. ``None``
    means these counters are not the only ones for the user (several workers without a shared store, or Redis
    unreachable) and the analysis orders the user's lines by timestamp instead. ``retry`` says the request id was
    seen before.
    """

    session: int
    step: int
    epoch: int | None = None
    retry: bool = False


class StateStore(Protocol):
    """Where per-user session counters live."""

    def next_step(self, user: int, request_id: str | None = None) -> Counters:
        """Counters for a ``/next`` request, then advance the step (unless ``request_id`` is a retry)."""
        ...

    def end_session(self, user: int, request_id: str | None = None) -> Counters:
        """``(session, steps)`` of the ending session, then start the next one (unless a retry)."""
        ...

    def get_state(self, user: int) -> bytes | None:
        """A stateful recommender's encoded session state, or ``None`` (never stored, ended, or idle too long)."""
        ...

    def put_state(self, user: int, state: bytes) -> None:
        """Store the encoded session state (its idle timeout restarts)."""
        ...

    def sync(self) -> None:
        """Make every write so far visible to the user's next request, wherever it is served (before answering)."""
        ...


@runtime_checkable
class AsyncStateStore(StateStore, Protocol):
    """A store the service awaits on its event loop (Redis): other requests run while it answers.

    A ``/next`` calls ``next_step_async``, the recommender (whose ``get_state``/``put_state`` stay plain
    calls), then ``sync_async`` before answering; a ``/last`` calls ``end_session_async``.
    """

    async def next_step_async(self, user: int, request_id: str | None = None) -> Counters:
        """``next_step``, awaited."""
        ...

    async def end_session_async(self, user: int, request_id: str | None = None) -> Counters:
        """``end_session``, awaited."""
        ...

    async def sync_async(self) -> None:
        """``sync`` for the request that called ``next_step_async``, awaited."""
        ...


class InMemoryStore:
    """A dict in this process: exact for one worker; with several workers each keeps its own counters.

    Session state idle for more than ``ttl`` seconds is forgotten (a session whose ``/last`` never came).
    ``exact=False`` marks the counters as one of several (their ``epoch`` is ``None``).
    """

    def __init__(self, ttl: float = 1800.0, *, exact: bool = True, request_ttl: float = REQUEST_TTL) -> None:
        self.ttl = ttl
        self.request_ttl = request_ttl
        self.epoch = now_ms() if exact else None
        self._counters: dict[int, tuple[int, int]] = {}
        self._states: dict[int, tuple[float, bytes]] = {}
        # (user, request id) -> (session, step, the state it found), in two generations: an id is remembered
        # for between one and two `request_ttl`s, with no per-entry clock
        self._requests: dict[tuple[int, str], tuple[int, int, bytes | None]] = {}
        self._older_requests: dict[tuple[int, str], tuple[int, int, bytes | None]] = {}
        self._requests_since = time.monotonic()
        self._replayed: tuple[int, bytes | None] | None = None

    def _seen(self, user: int, request_id: str) -> tuple[Counters, bytes | None] | None:
        now = time.monotonic()
        if now - self._requests_since > self.request_ttl:
            self._older_requests, self._requests, self._requests_since = self._requests, {}, now
        key = (user, request_id)
        seen = self._requests.get(key) or self._older_requests.get(key)
        if seen is None:
            return None
        return Counters(seen[0], seen[1], self.epoch, True), seen[2]

    def _note(self, user: int, request_id: str, session: int, step: int) -> None:
        state = self._states.get(user)
        self._requests[(user, request_id)] = (session, step, state[1] if state else None)

    def next_step(self, user: int, request_id: str | None = None) -> Counters:
        """Counters for a ``/next`` request, then advance the step."""
        self._replayed = None
        if request_id is not None:
            seen = self._seen(user, request_id)
            if seen is not None:
                self._replayed = (user, seen[1])
                return seen[0]
        session, step = self._counters.get(user, (0, 0))
        self._counters[user] = (session, step + 1)
        if request_id is not None:
            self._note(user, request_id, session, step)
        return Counters(session, step, self.epoch)

    def end_session(self, user: int, request_id: str | None = None) -> Counters:
        """``(session, steps)`` of the ending session, then start the next one."""
        if request_id is not None:
            seen = self._seen(user, request_id)
            if seen is not None:
                return seen[0]
        session, step = self._counters.get(user, (0, 0))
        self._counters[user] = (session + 1, 0)
        self._states.pop(user, None)
        if request_id is not None:
            self._note(user, request_id, session, step)
        return Counters(session, step, self.epoch)

    def get_state(self, user: int) -> bytes | None:
        """The stored state unless it idled past ``ttl`` (for a retry: the state before its first attempt)."""
        if self._replayed is not None:
            replayed, self._replayed = self._replayed, None
            if replayed[0] == user:
                return replayed[1]
        entry = self._states.get(user)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self.ttl:
            del self._states[user]
            return None
        return entry[1]

    def put_state(self, user: int, state: bytes) -> None:
        """Store the state, stamped now."""
        self._replayed = None
        self._states[user] = (time.monotonic(), state)

    def sync(self) -> None:
        """Nothing to wait for: writes are visible at once."""
