"""The Redis state store against a real redis-server: same answers as the in-process store, TTL, outages."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from botify.cluster.redis_server import RedisServer
from botify.experiments import ExperimentPlan
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld
from botify.state import InMemoryStore
from botify.state.redis import RedisStore
from botify.testing.artifacts import REPORT_ARMS

StoreFactory = Callable[..., RedisStore]


@pytest.fixture()
def open_store() -> Iterator[StoreFactory]:
    """Stores on fresh key prefixes, closed after the test."""
    opened: list[RedisStore] = []

    def make(server: RedisServer, **options: float) -> RedisStore:
        opened.append(RedisStore(server.url, prefix=f"test-{uuid.uuid4().hex[:8]}", **options))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


class TestRedisStore:
    def test_counters_and_state_match_the_in_process_store(self, open_store: StoreFactory,
                                                           redis_server: RedisServer) -> None:
        shared, local = open_store(redis_server), InMemoryStore()
        script = [("next", 1), ("next", 1), ("put", 1), ("get", 1), ("next", 2), ("end", 1), ("get", 1),
                  ("next", 1), ("end", 1), ("end", 1), ("next", 1), ("get", 2)]
        for action, user in script:
            answers = []
            for s in (shared, local):
                if action == "next":
                    answers.append(s.next_step(user)[:2])
                elif action == "end":
                    answers.append(s.end_session(user)[:2])
                elif action == "put":
                    s.put_state(user, b'{"x":1}')
                    answers.append(None)
                else:
                    answers.append(s.get_state(user))
            assert answers[0] == answers[1], (action, user, answers)

    def test_next_step_fetches_the_state_in_the_same_round_trip(self, open_store: StoreFactory,
                                                                redis_server: RedisServer) -> None:
        s = open_store(redis_server)
        s.next_step(7)
        s.put_state(7, b"state")
        before = s.round_trips
        s.next_step(7)
        assert s.get_state(7) == b"state" and s.round_trips == before + 1
        s.put_state(7, b"newer")  # pipelined: no wait for the reply
        s.next_step(7)
        assert s.get_state(7) == b"newer" and s.round_trips == before + 2
        assert s.shards.nodes[0].client.deferred_errors == 0

    def test_idle_state_expires(self, open_store: StoreFactory, redis_server: RedisServer) -> None:
        s = open_store(redis_server, ttl=0.2)
        s.put_state(3, b"x")
        assert s.get_state(3) == b"x"
        time.sleep(0.4)
        assert s.get_state(3) is None

    def test_custom_and_session_recommenders_play_identically_on_either_store(
            self, open_store: StoreFactory, sim_world: SimWorld, model_artifacts: Path,
            redis_server: RedisServer) -> None:
        plan = ExperimentPlan.from_dict(yaml.safe_load(REPORT_ARMS))
        local = InProcessAgent(sim_world, plan, artifacts=model_artifacts).play(range(400), seed=2)
        shared = InProcessAgent(sim_world, plan, artifacts=model_artifacts,
                                store=open_store(redis_server)).play(range(400), seed=2)
        np.testing.assert_array_equal(local.tracks, shared.tracks)
        np.testing.assert_array_equal(local.time, shared.time)

    def test_outage_degrades_then_recovers_without_restart(self, open_store: StoreFactory,
                                                           tmp_path: Path) -> None:
        from botify.service.process import free_port

        with RedisServer(free_port(), tmp_path) as server:
            s = open_store(server, timeout=0.1)
            before = s.next_step(1)
            assert before[:2] == (0, 0) and before.epoch is not None and s.ping()
            server.stop()
            # in-process counters while down: the session starts anew, and the counters say they are not exact
            assert s.next_step(1) == (0, 0, None, False)
            assert s.get_state(1) is None and not s.available and s.errors == 1
            trips = s.round_trips
            assert not s.ping() and s.next_step(2)[:2] == (0, 0)
            assert s.round_trips == trips and s.errors == 1 and s.fallback_calls == 2  # no call while down
            time.sleep(0.3)
            server.start()
            assert s.wait_available(5.0) and s.ping()  # the background probe found Redis again
            after = s.next_step(1)
            # answered by Redis again, which restarted empty: user 1's counters anew, in a later epoch
            assert after[:2] == (0, 0) and after.epoch is not None and after.epoch > before.epoch

    def test_a_retry_on_another_replica_gets_the_first_attempts_counters_and_state(
            self, open_store: StoreFactory, redis_server: RedisServer) -> None:
        first = open_store(redis_server)
        second = RedisStore(redis_server.url, prefix=first.prefix)  # another replica on the same Redis
        try:
            assert first.next_step(4, "r-0")[:2] == (0, 0) and first.get_state(4) is None
            first.put_state(4, b"after r-0")
            first.sync()
            assert first.next_step(4, "r-1")[:2] == (0, 1) and first.get_state(4) == b"after r-0"
            first.put_state(4, b"after r-1")
            first.sync()                                          # ... then the replica died before answering
            retried = second.next_step(4, "r-1")
            assert retried[:2] == (0, 1) and retried.retry and second.get_state(4) == b"after r-0"
            second.put_state(4, b"after r-1")
            second.sync()
            assert second.next_step(4, "r-2")[:2] == (0, 2)      # the retry did not advance the step
            assert first.end_session(4, "r-3")[:2] == (0, 3)
            assert second.end_session(4, "r-3").retry            # nor the session
            assert second.next_step(4, "r-4")[:2] == (1, 0)
        finally:
            second.close()

    def test_a_hung_redis_costs_one_bounded_wait(self, open_store: StoreFactory, tmp_path: Path) -> None:
        from botify.service.process import free_port

        with RedisServer(free_port(), tmp_path) as server:
            assert server.process is not None
            s = open_store(server, timeout=0.05)
            s.next_step(1)
            server.process.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
            try:
                started = time.perf_counter()
                assert s.next_step(1).epoch is None  # waited for the timeout, then fell back
                first = time.perf_counter() - started
                started = time.perf_counter()
                for user in range(200):
                    s.next_step(user)
                rest = time.perf_counter() - started
                assert s.errors == 1 and s.fallback_calls == 201 and not s.ping()
                assert first >= 0.05 and rest < first  # 200 calls cost less than the one wait: none waits
            finally:
                server.process.send_signal(signal.SIGCONT)
            assert s.wait_available(5.0) and s.next_step(1).epoch is not None
