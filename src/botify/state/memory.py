"""The in-process store: a dict of users' counters and session state, kept in this process."""

from __future__ import annotations

import time

from botify.state.store import REQUEST_TTL, Counters, now_ms

__all__ = ["InMemoryStore"]


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
