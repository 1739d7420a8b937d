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

The service uses the same calls on its event loop (``next_step_async``, ``end_session_async``, ``sync_async``,
over ``state/pipeline.py``): a replica serves other requests while Redis answers instead of sleeping in a
blocking read, which on a busy machine costs more CPU than the request itself. Blocking calls (``ping``, a
``get_state`` without a fetched copy, the probe) keep their own connection. ``calls=blocking`` in the URL
(``unix:///path.sock?db=0&calls=blocking``) makes the awaited calls blocking ones, the path before: kept for
comparison (``benchmarks/bench_cluster.py`` measures both).

Every call is bounded by ``timeout`` (50 ms by default, a few hundred round trips). When a call fails — Redis
refused, closed or did not answer in time — the store stops calling Redis: requests are answered from
in-process counters (sessions start anew; their log lines say the counters are not exact), ``ping`` reports not
ready at once, and a background thread probes Redis with a growing interval (50 ms to 1 s) until it answers.
So a Redis that hangs costs one bounded wait, not one per request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import hiredis

from botify.errors import ConfigError
from botify.state.memory import InMemoryStore
from botify.state.pipeline import RedisPipeline
from botify.state.resp import RedisConnection, RedisError
from botify.state.store import REQUEST_TTL, Counters, now_ms

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
        calls = parse_qs(urlparse(url).query).get("calls", ["awaited"])[-1]
        if calls not in ("awaited", "blocking"):
            raise ConfigError(f"`calls` in a Redis URL is awaited (the default) or blocking, got {calls!r} in {url!r}")
        self.awaited = calls == "awaited"
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
        self.pipeline = RedisPipeline(self.client.address, database=self.client.db, timeout=timeout)
        self._pipelined = False  # this request came through next_step_async: put_state writes on the pipeline
        self._write: asyncio.Future[Any] | None = None
        self.write_errors = 0

    def close(self) -> None:
        """Close the connections and stop probing."""
        self._closed.set()
        self.client.close()
        if self.pipeline.connected:
            self.pipeline.close()

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
            if self.pipeline.connected:
                self.pipeline.close()
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

    async def _run_async(self, script: str, user: int, request_id: str | None) -> list[Any] | None:
        """``_run`` on the event loop's connection."""
        if self.available:
            try:
                if not self.pipeline.connected:
                    await self.pipeline.connect()
                self.round_trips += 1
                keys = self._keys(user, request_id)
                command: tuple[str | int, ...] = ("EVALSHA", script, len(keys), *keys, now_ms(), self._request_ms)
                reply = await self.pipeline.request(*command)
                if isinstance(reply, hiredis.ReplyError) and "NOSCRIPT" in str(reply):  # Redis restarted
                    await self.pipeline.request("SCRIPT", "LOAD", self.client.script_source(script))
                    reply = await self.pipeline.request(*command)
                if isinstance(reply, hiredis.ReplyError):
                    raise RedisError(str(reply))
                return reply  # type: ignore[no-any-return]
            except RedisError:
                self._failed()
        self.fallback_calls += 1
        return None

    def _stepped(self, user: int, request_id: str | None, reply: list[Any] | None) -> Counters:
        if reply is None:
            self._fetched.value = None
            return self._fallback.next_step(user, request_id)
        self._fetched.value = (user, reply[2])
        return Counters(int(reply[0]), int(reply[1]), int(reply[3]), len(reply) > 4)

    def _ended(self, user: int, request_id: str | None, reply: list[Any] | None) -> Counters:
        if reply is None:
            return self._fallback.end_session(user, request_id)
        return Counters(int(reply[0]), int(reply[1]), int(reply[2]), len(reply) > 3)

    def next_step(self, user: int, request_id: str | None = None) -> Counters:
        """Counters for a ``/next`` request, then advance the step; keeps the state for ``get_state``."""
        self._pipelined = False
        return self._stepped(user, request_id, self._run(self._next, user, request_id))

    def end_session(self, user: int, request_id: str | None = None) -> Counters:
        """``(session, steps)`` of the ending session, then start the next one and drop its state."""
        return self._ended(user, request_id, self._run(self._end, user, request_id))

    async def next_step_async(self, user: int, request_id: str | None = None) -> Counters:
        """``next_step`` awaiting Redis on the event loop; the request's ``put_state`` goes the same way."""
        if not self.awaited:
            return self.next_step(user, request_id)
        counters = self._stepped(user, request_id, await self._run_async(self._next, user, request_id))
        self._pipelined = True
        return counters

    async def end_session_async(self, user: int, request_id: str | None = None) -> Counters:
        """``end_session`` awaiting Redis on the event loop."""
        if not self.awaited:
            return self.end_session(user, request_id)
        return self._ended(user, request_id, await self._run_async(self._end, user, request_id))

    async def sync_async(self) -> None:
        """``sync`` for a request that came through ``next_step_async``: await the reply of its state write."""
        if not self.awaited:
            self.sync()
            return
        self._pipelined = False
        write, self._write = self._write, None
        if write is None:
            return
        try:
            reply = await write
        except RedisError:
            self._failed()
            return
        if isinstance(reply, hiredis.ReplyError):
            self.write_errors += 1

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
        command = ("SET", self._keys(user)[1], state, "PX", max(1, round(self.ttl * 1000)))
        try:
            if self._pipelined:  # an awaited request: its sync_async awaits this write
                self._pipelined = False
                self._write = self.pipeline.request(*command)
            else:
                self.client.send(*command)
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
