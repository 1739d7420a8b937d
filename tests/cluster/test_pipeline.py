"""Redis on the event loop (``RedisPipeline`` and ``RedisStore``'s awaited calls) against a real redis-server."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import hiredis
import pytest

from botify.cluster.redis_server import RedisServer
from botify.errors import ConfigError
from botify.service.process import free_port
from botify.state import AsyncStateStore, InMemoryStore
from botify.state.pipeline import RedisPipeline
from botify.state.redis import RedisStore
from botify.state.resp import RedisConnection, RedisError


def pipeline_of(server: RedisServer, **options: float) -> RedisPipeline:
    connection = RedisConnection(server.url)
    return RedisPipeline(connection.address, database=connection.db, **options)


def redis_call(url: str, *command: str) -> object:
    """One command on a connection of its own (as another client would send it)."""
    connection = RedisConnection(url)
    try:
        return connection.call(*command)
    finally:
        connection.close()


class TestRedisPipeline:
    def test_concurrent_requests_get_their_own_replies(self, redis_server: RedisServer) -> None:
        async def play() -> None:
            pipeline = pipeline_of(redis_server)
            await pipeline.connect()
            prefix = f"pipe-{uuid.uuid4().hex[:8]}"
            writes = [pipeline.request("SET", f"{prefix}:{i}", f"value {i}".encode()) for i in range(300)]
            assert await asyncio.gather(*writes) == [b"OK"] * 300
            replies = await asyncio.gather(*(pipeline.request("GET", f"{prefix}:{i}") for i in range(300)))
            assert replies == [f"value {i}".encode() for i in range(300)]
            error = await pipeline.request("GET")  # an error reply is a value; the connection stays usable
            assert isinstance(error, hiredis.ReplyError) and await pipeline.request("PING") == b"PONG"
            pipeline.close()

        asyncio.run(play())

    def test_selects_the_database_of_the_url(self, redis_server: RedisServer) -> None:
        async def play() -> None:
            redis_call(redis_server.url[:-1] + "5", "SET", "pipe:db", "five")
            five = RedisPipeline(RedisConnection(redis_server.url).address, database=5)
            await five.connect()
            assert await five.request("GET", "pipe:db") == b"five"
            five.close()

        asyncio.run(play())

    def test_a_hung_redis_fails_every_waiting_request_after_the_timeout(self, tmp_path: Path) -> None:
        async def play(server: RedisServer) -> tuple[list[BaseException | None], float]:
            pipeline = pipeline_of(server, timeout=0.05)
            await pipeline.connect()
            assert await pipeline.request("PING") == b"PONG"
            assert server.process is not None
            server.process.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
            try:
                started = time.perf_counter()
                outcomes = await asyncio.gather(*(pipeline.request("PING") for _ in range(10)),
                                                return_exceptions=True)
                return [o if isinstance(o, BaseException) else None for o in outcomes], \
                    time.perf_counter() - started
            finally:
                server.process.send_signal(signal.SIGCONT)

        with RedisServer(free_port(), tmp_path) as server:
            errors, waited = asyncio.run(play(server))
        assert all(isinstance(e, RedisError) and "no reply within 50 ms" in str(e) for e in errors), errors
        assert 0.05 <= waited < 1.0


class TestAwaitedStore:
    def test_is_an_async_store_and_matches_the_in_process_store(self, redis_server: RedisServer) -> None:
        shared, local = RedisStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex[:8]}"), InMemoryStore()
        assert isinstance(shared, AsyncStateStore) and not isinstance(local, AsyncStateStore)

        async def play() -> None:
            for user, state in [(1, None), (1, b"a"), (2, b"b"), (1, b"c"), (1, None), (2, None)]:
                counters = await shared.next_step_async(user)
                assert counters[:2] == local.next_step(user)[:2]
                assert shared.get_state(user) == local.get_state(user)
                if state is not None:
                    shared.put_state(user, state)
                    local.put_state(user, state)
                await shared.sync_async()
                if state is None:
                    assert (await shared.end_session_async(user))[:2] == local.end_session(user)[:2]
            shared.close()

        asyncio.run(play())
        assert shared.write_errors == 0 and shared.errors == 0 and shared.fallback_calls == 0

    def test_the_answer_waits_for_the_state_write(self, tmp_path: Path) -> None:
        """``sync_async`` returns only once Redis has applied the write, so another replica sees it next."""
        async def play(server: RedisServer, store: RedisStore, other: RedisStore) -> float:
            await store.next_step_async(3)
            store.put_state(3, b"written")
            await store.sync_async()
            assert other.next_step(3)[:2] == (0, 1) and other.get_state(3) == b"written"
            await store.next_step_async(3)
            assert server.process is not None
            server.process.send_signal(signal.SIGSTOP)
            time.sleep(0.02)  # stopped for sure before the write goes out
            try:
                store.put_state(3, b"never answered")
                started = time.perf_counter()
                await store.sync_async()
                return time.perf_counter() - started
            finally:
                server.process.send_signal(signal.SIGCONT)
                store.close()

        with RedisServer(free_port(), tmp_path) as server:
            prefix = f"t-{uuid.uuid4().hex[:8]}"
            store = RedisStore(server.url, prefix=prefix, timeout=0.05)
            other = RedisStore(server.url, prefix=prefix)
            try:
                waited = asyncio.run(play(server, store, other))
            finally:
                other.close()
        assert waited >= 0.05 and store.errors == 1 and not store.available  # it waited, then gave up

    def test_a_script_flush_and_an_outage_on_the_event_loop(self, tmp_path: Path) -> None:
        async def play(server: RedisServer, store: RedisStore) -> None:
            assert (await store.next_step_async(1))[:2] == (0, 0)
            redis_call(server.url, "SCRIPT", "FLUSH")  # what a restart does to loaded scripts
            assert (await store.next_step_async(1))[:2] == (0, 1)
            server.stop()
            down = await store.next_step_async(1)
            assert down.epoch is None and store.errors == 1 and not store.available
            server.start()
            assert store.wait_available(5.0)
            back = await store.next_step_async(7)
            assert back[:2] == (0, 0) and back.epoch is not None
            store.close()

        with RedisServer(free_port(), tmp_path) as server:
            asyncio.run(play(server, RedisStore(server.url, prefix="t", timeout=0.1)))

    def test_retries_on_another_replica_over_the_event_loop(self, redis_server: RedisServer) -> None:
        prefix = f"t-{uuid.uuid4().hex[:8]}"
        first, second = RedisStore(redis_server.url, prefix=prefix), RedisStore(redis_server.url, prefix=prefix)

        async def play() -> None:
            for step in range(50):
                counters = await first.next_step_async(9, f"r-{step}")
                first.put_state(9, f"after {step}".encode())
                await first.sync_async()
                retried = await second.next_step_async(9, f"r-{step}")  # the answer was lost: retried elsewhere
                assert retried == counters._replace(retry=True)
                assert second.get_state(9) == (f"after {step - 1}".encode() if step else None)
                second.put_state(9, f"after {step}".encode())
                await second.sync_async()
            first.close()
            second.close()

        asyncio.run(play())

    def test_calls_blocking_in_the_url_keeps_the_previous_path(self, redis_server: RedisServer) -> None:
        blocking = RedisStore(redis_server.url + "?calls=blocking", prefix=f"t-{uuid.uuid4().hex[:8]}")

        async def play() -> None:
            assert (await blocking.next_step_async(4))[:2] == (0, 0)
            blocking.put_state(4, b"x")
            await blocking.sync_async()
            assert (await blocking.next_step_async(4))[:2] == (0, 1) and blocking.get_state(4) == b"x"

        asyncio.run(play())
        # every call on the blocking connection
        assert not blocking.shards.nodes[0].pipeline.connected and blocking.round_trips == 2
        blocking.close()
        with pytest.raises(ConfigError, match="awaited .* or blocking"):
            RedisStore(redis_server.url + "?calls=sometimes")
