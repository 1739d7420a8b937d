"""Per-user session counters and recommender state in Redis, shared by every replica (``--state redis://...``).

Keys: ``botify:c:{user}`` is a hash with the session number ``s`` and the next step ``k`` (never expires, so
session numbers match the in-process store's); ``botify:s:{user}`` holds a stateful recommender's encoded state
with a TTL (an idle session's state expires, as in ``InMemoryStore``). ``next_step`` advances the counters and
fetches the state in one round trip (a Lua script); the recommender's ``get_state`` then reads that copy, and
``put_state`` sends a ``SET ... PX`` without waiting for its reply (pipelined: the next call reads it). So
every ``/next`` costs one round trip, stateful arms included.

When Redis is unreachable the store keeps answering from in-process counters and treats sessions as new (no
state), counts the errors, reports itself not ready, and uses Redis again as soon as it answers.
"""

from __future__ import annotations

import threading

from botify.resp import RedisConnection, RedisError
from botify.state import InMemoryStore

__all__ = ["RedisStore"]

_NEXT = """
local step = redis.call('HINCRBY', KEYS[1], 'k', 1) - 1
local session = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
return {session, step, redis.call('GET', KEYS[2])}
"""
_END = """
local session = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local steps = tonumber(redis.call('HGET', KEYS[1], 'k') or '0')
redis.call('HSET', KEYS[1], 's', session + 1, 'k', 0)
redis.call('DEL', KEYS[2])
return {session, steps}
"""


class RedisStore:
    """The ``StateStore`` protocol on Redis, degrading to in-process counters while Redis is down."""

    def __init__(self, url: str, *, ttl: float = 1800.0, timeout: float = 0.25, prefix: str = "botify") -> None:
        self.url, self.ttl, self.prefix = url, ttl, prefix
        self.client = RedisConnection(url, timeout=timeout)
        self._next = self.client.script(_NEXT)
        self._end = self.client.script(_END)
        self._fallback = InMemoryStore(ttl=ttl)
        self._fetched = threading.local()
        self.errors = 0
        self.round_trips = 0
        self.available = True  # whether the last call reached Redis

    def close(self) -> None:
        """Close the connection."""
        self.client.close()

    def _keys(self, user: int) -> list[str]:
        return [f"{self.prefix}:c:{user}", f"{self.prefix}:s:{user}"]

    def _failed(self) -> None:
        self.errors += 1
        self.available = False

    def ping(self) -> bool:
        """One round trip to Redis (readiness); updates ``available``."""
        try:
            self.round_trips += 1
            self.client.call("PING")
        except RedisError:
            self._failed()
            return False
        self.available = True
        return True

    def next_step(self, user: int) -> tuple[int, int]:
        """``(session, step)`` for a ``/next`` request, then advance the step; keeps the state for ``get_state``."""
        try:
            self.round_trips += 1
            session, step, state = self.client.evalsha(self._next, self._keys(user))
        except RedisError:
            self._failed()
            self._fetched.value = (user, None)
            return self._fallback.next_step(user)
        self.available = True
        self._fetched.value = (user, state)
        return int(session), int(step)

    def end_session(self, user: int) -> tuple[int, int]:
        """``(session, steps)`` of the ending session, then start the next one and drop its state."""
        try:
            self.round_trips += 1
            session, steps = self.client.evalsha(self._end, self._keys(user))
        except RedisError:
            self._failed()
            return self._fallback.end_session(user)
        self.available = True
        return int(session), int(steps)

    def get_state(self, user: int) -> bytes | None:
        """The state fetched by this request's ``next_step`` (no round trip), else a ``GET``."""
        fetched = getattr(self._fetched, "value", None)
        if fetched is not None and fetched[0] == user:
            self._fetched.value = None
            state: bytes | None = fetched[1]
            return state
        try:
            self.round_trips += 1
            raw: bytes | None = self.client.call("GET", self._keys(user)[1])
        except RedisError:
            self._failed()
            return None
        return raw

    def put_state(self, user: int, state: bytes) -> None:
        """Store the state with the idle timeout; lost (and counted) while Redis is down."""
        self._fetched.value = None
        try:
            self.client.send("SET", self._keys(user)[1], state, "PX", max(1, round(self.ttl * 1000)))
        except RedisError:
            self._failed()
