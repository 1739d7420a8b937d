"""Per-user session counters and recommender state in Redis or a Redis Cluster, shared by every replica.

``--state redis://HOST:PORT/DB`` (or ``unix:///path.sock?db=N``) names one Redis; ``--state
redis-cluster://HOST:PORT,HOST:PORT`` a Redis Cluster, by any of its nodes (``state/shards.py`` routes each user
to the master that owns the user's slot and follows the cluster's ``MOVED``/``ASK`` redirections).

Keys, all tagged with the user so that they share one slot: ``botify:{user}:c`` is a hash with the session
number ``s``, the next step ``k`` and the epoch ``e``, when these counters began (set by the first call that
finds no counters: after Redis started empty, or a failover lost them). It never expires, so session numbers
match the in-process store's. ``botify:{user}:s`` holds a stateful recommender's encoded state with a TTL (an idle
session's state expires, as in ``InMemoryStore``); ``botify:{user}:r:{request id}`` remembers a request's counters
and the session state it found for a minute, so that a retry on another replica computes the same answer from
the same counters and state, without advancing the counters. The epoch is per user because a Redis Cluster runs
no script across slots, and a user's lines are only ever ordered among themselves.

``next_step`` advances the counters and fetches the state in one round trip (a Lua script); the recommender's
``get_state`` then reads that copy, and ``put_state`` sends a ``SET ... PX`` without waiting for its reply;
``sync``, called by the service before it answers, collects that reply, so the next request of the user — on
whichever replica — sees the state (Redis may serve another connection's command before a pipelined one it has
not read yet). So every ``/next`` costs one round trip and one wait, stateful arms included. A replica promoted
after its master died may lack the master's last writes (replication is asynchronous) and hand out a user's
step again; the analysis then orders that user's lines by timestamp (``logs/sessions.py``).

The service uses the same calls on its event loop (``next_step_async``, ``end_session_async``, ``sync_async``,
over ``state/pipeline.py``): a replica serves other requests while Redis answers instead of sleeping in a
blocking read, which on a busy machine costs more CPU than the request itself. Blocking calls (``ping``, a
``get_state`` without a fetched copy, the probe) keep their own connection. ``calls=blocking`` in the URL
(``unix:///path.sock?db=0&calls=blocking``) makes the awaited calls blocking ones, the path before: kept for
comparison (``benchmarks/bench_cluster.py`` measures both).

Every call is bounded by ``timeout`` (50 ms by default, a few hundred round trips). When a call to a node fails —
refused, closed, not answered in time, or the cluster is down there — the store stops calling that node: its
users are answered from in-process counters (sessions start anew; their log lines say the counters are not
exact), ``ping`` reports not ready at once, and a background thread probes with a growing interval (50 ms to
1 s): on a cluster it reads the slot map again, so a promoted replica takes over its master's users as soon
as the cluster lists it. So a Redis that hangs costs one bounded wait, not one per request, and on a cluster
only the failed master's users leave the shared counters.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import hiredis

from botify.errors import ConfigError
from botify.state.memory import InMemoryStore
from botify.state.resp import RedisConnection, RedisError
from botify.state.shards import RedisNode, Shards, redirection, user_slot
from botify.state.store import REQUEST_TTL, Counters, now_ms

__all__ = ["RedisStore"]

_EPOCH = """
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch)
end
"""
_NEXT = _EPOCH + """
if KEYS[3] then
  local seen = redis.call('HMGET', KEYS[3], 's', 'k', 't')
  if seen[1] then
    return {tonumber(seen[1]), tonumber(seen[2]), seen[3], epoch, 1}
  end
end
local step = redis.call('HINCRBY', KEYS[1], 'k', 1) - 1
local session = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local state = redis.call('GET', KEYS[2])
if KEYS[3] then
  if state then
    redis.call('HSET', KEYS[3], 's', session, 'k', step, 't', state)
  else
    redis.call('HSET', KEYS[3], 's', session, 'k', step)
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return {session, step, state, epoch}
"""
_END = _EPOCH + """
if KEYS[3] then
  local seen = redis.call('HMGET', KEYS[3], 's', 'k')
  if seen[1] then
    return {tonumber(seen[1]), tonumber(seen[2]), epoch, 1}
  end
end
local session = tonumber(redis.call('HGET', KEYS[1], 's') or '0')
local steps = tonumber(redis.call('HGET', KEYS[1], 'k') or '0')
redis.call('HSET', KEYS[1], 's', session + 1, 'k', 0)
redis.call('DEL', KEYS[2])
if KEYS[3] then
  redis.call('HSET', KEYS[3], 's', session, 'k', steps)
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return {session, steps, epoch}
"""
_REDIRECTIONS = 5  # MOVED/ASK hops one call may follow (a resharding in progress moves a slot once or twice)


class RedisStore:
    """The ``StateStore`` protocol on Redis or a Redis Cluster, degrading per node to in-process counters."""

    def __init__(self, url: str, *, ttl: float = 1800.0, timeout: float = 0.05, prefix: str = "botify",
                 request_ttl: float = REQUEST_TTL, probe_interval: tuple[float, float] = (0.05, 1.0)) -> None:
        self.url, self.ttl, self.prefix, self.timeout = url, ttl, prefix, timeout
        calls = parse_qs(urlparse(url).query).get("calls", ["awaited"])[-1]
        if calls not in ("awaited", "blocking"):
            raise ConfigError(f"`calls` in a Redis URL is awaited (the default) or blocking, got {calls!r} in {url!r}")
        self.awaited = calls == "awaited"
        self.shards = Shards(url, timeout=timeout)
        self._sources = {_sha(source): source.encode() for source in (_NEXT, _END)}
        self._next, self._end = _sha(_NEXT), _sha(_END)
        self._request_ms = max(1, round(request_ttl * 1000))
        self._fallback = InMemoryStore(ttl=ttl, exact=False, request_ttl=request_ttl)
        self._fetched = threading.local()
        self._probe_interval = probe_interval
        self._prober: threading.Thread | None = None
        self._probe_lock = threading.Lock()
        self._closed = threading.Event()
        self.errors = 0
        self.round_trips = 0
        self.fallback_calls = 0
        self._pipelined = False  # this request came through next_step_async: put_state writes on the pipeline
        self._write: tuple[RedisNode, asyncio.Future[Any]] | None = None
        self.write_errors = 0

    @property
    def available(self) -> bool:
        """Whether every node is in use (``False`` while some users are served from in-process counters)."""
        return all(node.available for node in self.shards.nodes)

    def close(self) -> None:
        """Close the connections and stop probing."""
        self._closed.set()
        self.shards.close()

    def _keys(self, user: int, request_id: str | None = None) -> list[str]:
        tag = f"{self.prefix}:{{{user}}}"
        keys = [f"{tag}:c", f"{tag}:s"]
        if request_id is not None:
            keys.append(f"{tag}:r:{request_id}")
        return keys

    def _failed(self, node: RedisNode) -> None:
        self.errors += 1
        if node.available:
            node.available = False
            node.close()
        self._start_probe()

    def _start_probe(self) -> None:
        with self._probe_lock:
            if self._prober is None or not self._prober.is_alive():
                self._prober = threading.Thread(target=self._probe, name="botify-redis-probe", daemon=True)
                self._prober.start()

    def _probe(self) -> None:
        """Until every node answers a PING (on connections of its own), wait, read the slot map, try again."""
        delay, longest = self._probe_interval
        while not self._closed.wait(delay):
            self.shards.refresh()
            for node in self.shards.nodes:
                if not node.available and _answers(node.address, self.timeout):
                    node.available = True
            if self.available:
                return
            delay = min(delay * 2, longest)

    def ping(self) -> bool:
        """Readiness: a round trip to every node while all are in use; ``False`` at once while degraded."""
        if not self.available:
            return False
        for node in self.shards.nodes:
            try:
                self.round_trips += 1
                node.client.call("PING")
            except RedisError:
                self._failed(node)
                return False
        return True

    def _blocking(self, node: RedisNode, command: tuple[Any, ...], slot: int) -> Any:
        """``command``'s reply from the node that serves ``slot``, following redirections.

        ``RedisError`` if a node failed (it is then out of use) or answered an error.
        """
        asking = False
        for _ in range(_REDIRECTIONS):
            try:
                if asking:
                    node.client.request("ASKING")
                reply = node.client.request(*command)
                if _noscript(reply):  # Redis restarted, or a node that never ran it
                    node.client.request("SCRIPT", "LOAD", self._sources[command[1]])
                    if asking:
                        node.client.request("ASKING")
                    reply = node.client.request(*command)
            except RedisError:
                self._failed(node)
                raise
            if not isinstance(reply, hiredis.ReplyError):
                return reply
            node, asking = self._redirected(node, reply, slot)
        raise RedisError(f"more than {_REDIRECTIONS} redirections for slot {slot}")

    async def _awaited(self, node: RedisNode, command: tuple[Any, ...], slot: int) -> Any:
        """``_blocking`` on the event loop."""
        asking = False
        for _ in range(_REDIRECTIONS):
            try:
                if not node.pipeline.connected:
                    await node.pipeline.connect()
                reply = await self._send(node, command, asking)
                if _noscript(reply):
                    await node.pipeline.request("SCRIPT", "LOAD", self._sources[command[1]])
                    reply = await self._send(node, command, asking)
            except RedisError:
                self._failed(node)
                raise
            if not isinstance(reply, hiredis.ReplyError):
                return reply
            node, asking = self._redirected(node, reply, slot)
        raise RedisError(f"more than {_REDIRECTIONS} redirections for slot {slot}")

    async def _send(self, node: RedisNode, command: tuple[Any, ...], asking: bool) -> Any:
        if asking:
            node.pipeline.request("ASKING")  # written with the command, in one go
        return await node.pipeline.request(*command)

    def _redirected(self, node: RedisNode, reply: hiredis.ReplyError, slot: int) -> tuple[RedisNode, bool]:
        """The node a ``MOVED``/``ASK`` reply points to (and whether to send ``ASKING``); else ``RedisError``."""
        message = str(reply)
        moved = redirection(message) if self.shards.is_cluster else None
        if moved is None:
            if not message.startswith("TRYAGAIN"):  # CLUSTERDOWN, LOADING, ...: not usable now
                self._failed(node)
            raise RedisError(f"Redis at {node.address}: {message}")
        kind, address = moved
        if kind == "MOVED":
            return self.shards.moved(slot, address), False
        return self.shards.node_at(address), True

    def _script_command(self, script: str, user: int, request_id: str | None) -> tuple[Any, ...]:
        keys = self._keys(user, request_id)
        return ("EVALSHA", script, len(keys), *keys, now_ms(), self._request_ms)

    def _run(self, script: str, user: int, request_id: str | None) -> list[Any] | None:
        """A counters script's reply, or ``None`` (counted) when the user's node is not in use or just failed."""
        node = self.shards.node(user)
        if node.available:
            try:
                self.round_trips += 1
                reply: list[Any] = self._blocking(node, self._script_command(script, user, request_id),
                                                  user_slot(user))
                return reply
            except RedisError:
                pass
        else:
            self._start_probe()
        self.fallback_calls += 1
        return None

    async def _run_async(self, script: str, user: int, request_id: str | None) -> list[Any] | None:
        """``_run`` on the event loop's connections."""
        node = self.shards.node(user)
        if node.available:
            try:
                self.round_trips += 1
                reply: list[Any] = await self._awaited(node, self._script_command(script, user, request_id),
                                                       user_slot(user))
                return reply
            except RedisError:
                pass
        else:
            self._start_probe()
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
        node, written = write
        try:
            reply = await written
        except RedisError:
            self._failed(node)
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
        node = self.shards.node(user)
        if not node.available:
            return self._fallback.get_state(user)
        try:
            self.round_trips += 1
            raw: bytes | None = self._blocking(node, ("GET", self._keys(user)[1]), user_slot(user))
        except RedisError:
            return self._fallback.get_state(user)
        return raw

    def put_state(self, user: int, state: bytes) -> None:
        """Store the state with the idle timeout (in-process while the user's node is out of use)."""
        self._fetched.value = None
        node = self.shards.node(user)
        if not node.available:
            self._fallback.put_state(user, state)
            return
        command = ("SET", self._keys(user)[1], state, "PX", max(1, round(self.ttl * 1000)))
        try:
            if self._pipelined and node.pipeline.connected:  # an awaited request: its sync_async awaits this
                self._pipelined = False
                self._write = node, node.pipeline.request(*command)
            else:
                node.client.send(*command)
        except RedisError:
            self._failed(node)
            self._fallback.put_state(user, state)

    def sync(self) -> None:
        """Wait until Redis has applied the state written without waiting."""
        for node in self.shards.nodes:
            if node.available:
                try:
                    node.client.drain()
                except RedisError:
                    self._failed(node)

    def wait_available(self, timeout: float) -> bool:
        """Wait until the store uses every node again (for drills and tests); ``True`` if it does."""
        deadline = time.monotonic() + timeout
        while not self.available and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.available


def _sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()


def _noscript(reply: Any) -> bool:
    return isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT")


def _answers(address: tuple[str, int] | str, timeout: float) -> bool:
    """Whether the Redis at ``address`` answers a PING on a connection of its own."""
    url = f"unix://{address}" if isinstance(address, str) else f"redis://{address[0]}:{address[1]}/0"
    probe = RedisConnection(url, timeout=timeout)
    try:
        probe.call("PING")
    except RedisError:
        return False
    finally:
        probe.close()
    return True
