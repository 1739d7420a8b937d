"""Per-user session counters and recommender state in Redis, shared by every replica (``--state redis://...``).

Keys: ``botify:c:{user}`` is a hash with the session number ``s`` and the next step ``k`` (never expires, so
session numbers match the in-process store's); ``botify:s:{user}`` holds a stateful recommender's encoded state
with a TTL (an idle session's state expires, as in ``InMemoryStore``); ``botify:epoch`` is when the counters
began (set by the first call after Redis starts empty); ``botify:r:{user}:{request id}`` remembers a request's
counters and the session state it found for a minute, so that a retry on another replica computes the same
answer from the same counters and state, without advancing the counters.

``next_step`` advances the counters and fetches the state in one round trip (a Lua script); the recommender's
``get_state`` then reads that copy, and ``put_state`` sends a ``SET ... PX`` without waiting for
its reply; ``sync``, called by the service before it answers, collects that reply, so the next request of the
user — on whichever replica — sees the state (Redis may serve another connection's command before a pipelined
one it has not read yet). So every ``/next`` costs one round trip and one wait, stateful arms included.

Every call is bounded by ``timeout`` (50 ms by default, a few hundred round trips). When a call fails — Redis
refused, closed or did not answer in time — the store stops calling Redis: requests are answered from
in-process counters (sessions start anew; their log lines say the counters are not exact), ``ping`` reports not
ready at once, and a background thread probes Redis with a growing interval (50 ms to 1 s) until it answers.
So a Redis that hangs costs one bounded wait, not one per request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from botify.state import REQUEST_TTL, Counters, InMemoryStore, now_ms
from botify.state.resp import RedisConnection, RedisError

__all__ = ["RedisStore"]

_EPOCH = """
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[3], epoch)
end
"""
_NEXT = _EPOCH + """
if KEYS[4] then
  local seen = redis.call('HMGET', KEYS[4], 's', 'k', 't')
  if seen[1] then
    return {tonumber(seen[1]), tonumber(seen[2]), seen[3], epoch, 1}
  end
end
local step = redis.call('HINCRBY', KEYS[1], 'k', 1) - 1
local session = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local state = redis.call('GET', KEYS[2])
if KEYS[4] then
  if state then
    redis.call('HSET', KEYS[4], 's', session, 'k', step, 't', state)
  else
    redis.call('HSET', KEYS[4], 's', session, 'k', step)
  end
  redis.call('PEXPIRE', KEYS[4], ARGV[2])
end
return {session, step, state, epoch}
"""
_END = _EPOCH + """
if KEYS[4] then
  local seen = redis.call('HMGET', KEYS[4], 's', 'k')
  if seen[1] then
    return {tonumber(seen[1]), tonumber(seen[2]), epoch, 1}
  end
end
local session = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local steps = tonumber(redis.call('HGET', KEYS[1], 'k') or '0')
redis.call('HSET', KEYS[1], 's', session + 1, 'k', 0)
redis.call('DEL', KEYS[2])
if KEYS[4] then
  redis.call('HSET', KEYS[4], 's', session, 'k', steps)
  redis.call('PEXPIRE', KEYS[4], ARGV[2])
end
return {session, steps, epoch}
"""


class RedisStore:
    """The ``StateStore`` protocol on Redis, degrading to in-process counters while Redis is down."""

    def __init__(self, url: str, *, ttl: float = 1800.0, timeout: float = 0.05, prefix: str = "botify",
                 request_ttl: float = REQUEST_TTL, probe_interval: tuple[float, float] = (0.05, 1.0)) -> None:
        self.url, self.ttl, self.prefix, self.timeout = url, ttl, prefix, timeout
        self.client = RedisConnection(url, timeout=timeout)
        self._next = self.client.script(_NEXT)
        self._end = self.client.script(_END)
        self._request_ms = max(1, round(request_ttl * 1000))
        self._fallback = InMemoryStore(ttl=ttl, exact=False, request_ttl=request_ttl)
        self._fetched = threading.local()
        self._probe_interval = probe_interval
        self._prober: threading.Thread | None = None
        self._closed = threading.Event()
        self.errors = 0
        self.round_trips = 0
        self.fallback_calls = 0
        self.available = True  # False from a failed call until the background probe reaches Redis again

    def close(self) -> None:
        """Close the connection and stop probing."""
        self._closed.set()
        self.client.close()

    def _keys(self, user: int, request_id: str | None = None) -> list[str]:
        keys = [f"{self.prefix}:c:{user}", f"{self.prefix}:s:{user}", f"{self.prefix}:epoch"]
        if request_id is not None:
            keys.append(f"{self.prefix}:r:{user}:{request_id}")
        return keys

    def _failed(self) -> None:
        self.errors += 1
        if self.available:
            self.available = False
            self.client.close()
        if self._prober is None or not self._prober.is_alive():
            self._prober = threading.Thread(target=self._probe, name="botify-redis-probe", daemon=True)
            self._prober.start()

    def _probe(self) -> None:
        """Until Redis answers a PING (on a connection of its own), wait and try again, backing off."""
        delay, longest = self._probe_interval
        probe = RedisConnection(self.url, timeout=self.timeout)
        try:
            while not self._closed.wait(delay):
                try:
                    probe.call("PING")
                except RedisError:
                    delay = min(delay * 2, longest)
                    continue
                self.available = True
                return
        finally:
            probe.close()

    def ping(self) -> bool:
        """Readiness: one round trip while Redis is in use; ``False`` at once while the store is degraded."""
        if not self.available:
            return False
        try:
            self.round_trips += 1
            self.client.call("PING")
        except RedisError:
            self._failed()
            return False
        return True

    def _run(self, script: str, user: int, request_id: str | None) -> list[Any] | None:
        """A counters script's reply, or ``None`` (counted) when Redis is not in use or just failed."""
        if self.available:
            try:
                self.round_trips += 1
                reply: list[Any] = self.client.evalsha(script, self._keys(user, request_id),
                                                       (now_ms(), self._request_ms))
                return reply
            except RedisError:
                self._failed()
        self.fallback_calls += 1
        return None

    def next_step(self, user: int, request_id: str | None = None) -> Counters:
        """Counters for a ``/next`` request, then advance the step; keeps the state for ``get_state``."""
        reply = self._run(self._next, user, request_id)
        if reply is None:
            self._fetched.value = None
            return self._fallback.next_step(user, request_id)
        self._fetched.value = (user, reply[2])
        return Counters(int(reply[0]), int(reply[1]), int(reply[3]), len(reply) > 4)

    def end_session(self, user: int, request_id: str | None = None) -> Counters:
        """``(session, steps)`` of the ending session, then start the next one and drop its state."""
        reply = self._run(self._end, user, request_id)
        if reply is None:
            return self._fallback.end_session(user, request_id)
        return Counters(int(reply[0]), int(reply[1]), int(reply[2]), len(reply) > 3)

    def get_state(self, user: int) -> bytes | None:
        """The state fetched by this request's ``next_step`` (no round trip), else a ``GET``."""
        fetched = getattr(self._fetched, "value", None)
        if fetched is not None and fetched[0] == user:
            self._fetched.value = None
            state: bytes | None = fetched[1]
            return state
        if not self.available:
            return self._fallback.get_state(user)
        try:
            self.round_trips += 1
            raw: bytes | None = self.client.call("GET", self._keys(user)[1])
        except RedisError:
            self._failed()
            return self._fallback.get_state(user)
        return raw

    def put_state(self, user: int, state: bytes) -> None:
        """Store the state with the idle timeout (in-process while Redis is down)."""
        self._fetched.value = None
        if not self.available:
            self._fallback.put_state(user, state)
            return
        try:
            self.client.send("SET", self._keys(user)[1], state, "PX", max(1, round(self.ttl * 1000)))
        except RedisError:
            self._failed()
            self._fallback.put_state(user, state)

    def sync(self) -> None:
        """Wait until Redis has applied the state written without waiting."""
        if self.available:
            try:
                self.client.drain()
            except RedisError:
                self._failed()

    def wait_available(self, timeout: float) -> bool:
        """Wait until the store uses Redis again (for drills and tests); ``True`` if it does."""
        deadline = time.monotonic() + timeout
        while not self.available and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.available
