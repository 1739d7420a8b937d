"""The store interface: the counters a request gets, what a store promises, and the request-id window."""

from __future__ import annotations

import time
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["REQUEST_TTL", "AsyncStateStore", "Counters", "StateStore", "now_ms"]

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
