"""The state store on a real Redis Cluster: one slot per user, redirections followed, a killed master failed over."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from botify.cluster.redis_cluster import RedisCluster
from botify.cluster.redis_server import RedisServer
from botify.state import Counters, InMemoryStore
from botify.state.redis import RedisStore
from botify.state.resp import RedisConnection
from botify.state.shards import key_slot, user_slot

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"),
                                reason="needs Debian's redis-server (.ci/run installs it)")


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    with RedisCluster(tmp_path_factory.mktemp("redis-cluster"), masters=3) as cluster:
        yield cluster


@pytest.fixture()
def store(redis_cluster: RedisCluster) -> Iterator[RedisStore]:
    opened = RedisStore(redis_cluster.url, prefix=f"t-{uuid.uuid4().hex[:8]}")
    yield opened
    opened.close()


def call(server: RedisServer, *args: str | int) -> object:
    client = RedisConnection(server.url, timeout=1.0)
    try:
        return client.call(*args)
    finally:
        client.close()


def awaited(store: RedisStore, user: int) -> Counters:
    """``next_step_async`` on a loop of its own (the store's connections on that loop are closed with it)."""
    async def once() -> Counters:
        try:
            return await store.next_step_async(user)
        finally:
            store.shards.close()

    return asyncio.run(once())


def asking(server: RedisServer, *args: str | int) -> object:
    """A command sent after ``ASKING`` (a node answers for a slot it is importing only then)."""
    client = RedisConnection(server.url, timeout=1.0)
    try:
        client.call("ASKING")
        return client.call(*args)
    finally:
        client.close()


def owner(cluster: RedisCluster, slot: int) -> RedisServer:
    for entry in cluster.slots():
        if entry[0] <= slot <= entry[1]:
            return next(s for s in cluster.masters if s.port == int(entry[2][1]))
    raise AssertionError(f"no master serves slot {slot}")


class TestSlots:
    def test_slots_are_the_ones_redis_computes(self, redis_cluster: RedisCluster) -> None:
        server = redis_cluster.masters[0]
        for key in [b"botify:{42}:c", b"plain", b"a{}b", b"{}{7}", b"x{y}z{w}", "naïve{ü}".encode()]:
            assert key_slot(key) == call(server, "CLUSTER", "KEYSLOT", key.decode()), key
        for user in (0, 1, 99, 123_456):
            assert user_slot(user) == key_slot(f"botify:{{{user}}}:s".encode())


class TestClusterStore:
    def test_counters_and_state_match_the_in_process_store(self, store: RedisStore) -> None:
        local = InMemoryStore()
        users = range(60)  # enough users to land on every master
        for round_ in range(3):
            for user in users:
                for s in (store, local):
                    s.next_step(user)
                assert store.next_step(user)[:2] == local.next_step(user)[:2]
                store.put_state(user, b"r%d" % round_)
                local.put_state(user, b"r%d" % round_)
                if user % 3 == 0:
                    assert store.end_session(user)[:2] == local.end_session(user)[:2]
            store.sync()
        assert [store.get_state(u) for u in users] == [local.get_state(u) for u in users]
        assert store.fallback_calls == 0 and store.errors == 0
        assert len(store.shards.nodes) == 3 and store.shards.is_cluster

    def test_each_users_keys_live_on_the_master_of_its_slot_and_every_master_gets_some(
            self, store: RedisStore, redis_cluster: RedisCluster) -> None:
        for user in range(300):
            store.next_step(user, request_id=f"q{user}")
            store.put_state(user, b"x")
        store.sync()
        per_master = {}
        for server in redis_cluster.masters:
            keys = call(server, "KEYS", f"{store.prefix}:*")
            assert isinstance(keys, list)
            per_master[server.port] = len(keys)
            for key in keys:
                user = int(key.split(b"{")[1].split(b"}")[0])
                assert owner(redis_cluster, user_slot(user)) is server
        assert sum(per_master.values()) == 300 * 3  # counters, state, request id
        assert min(per_master.values()) > 0.2 * 900, per_master

    def test_epoch_is_per_user_and_kept_across_sessions(self, store: RedisStore) -> None:
        first = store.next_step(1)
        time.sleep(0.005)
        other = store.next_step(2)
        assert other.epoch is not None and first.epoch is not None and other.epoch > first.epoch
        assert store.end_session(1).epoch == first.epoch == store.next_step(1).epoch

    def test_follows_moved_after_a_slot_changes_master(self, store: RedisStore,
                                                       redis_cluster: RedisCluster) -> None:
        user = 7
        slot = user_slot(user)
        store.next_step(user)
        source = owner(redis_cluster, slot)
        target = next(s for s in redis_cluster.masters if s is not source)
        _migrate(redis_cluster, slot, source, target)
        try:
            assert store.shards.node(user).address == ("127.0.0.1", source.port)  # its map is stale now
            assert store.next_step(user)[:2] == (0, 1)                            # MOVED, followed
            assert store.shards.node(user).address == ("127.0.0.1", target.port)
            assert awaited(store, user)[:2] == (0, 2)
            assert store.fallback_calls == 0 and store.errors == 0
        finally:
            _migrate(redis_cluster, slot, target, source)

    def test_follows_ask_while_a_slot_is_migrating(self, store: RedisStore, redis_cluster: RedisCluster) -> None:
        user = 11
        slot = user_slot(user)
        store.next_step(user)
        store.put_state(user, b"kept")
        store.sync()
        source = owner(redis_cluster, slot)
        target = next(s for s in redis_cluster.masters if s is not source)
        source_id, target_id = (call(s, "CLUSTER", "MYID") for s in (source, target))
        call(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)  # type: ignore[arg-type]
        call(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)  # type: ignore[arg-type]
        keys = [f"{store.prefix}:{{{user}}}:c", f"{store.prefix}:{{{user}}}:s"]
        call(source, "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)  # mid-way: these keys moved
        try:
            # the source no longer has them and answers ASK; the store asks the target, which has them all
            assert store.next_step(user)[:2] == (0, 1) and store.get_state(user) == b"kept"
            assert awaited(store, user)[:2] == (0, 2)
            assert store.shards.node(user).address == ("127.0.0.1", source.port)  # ASK does not move the route
            assert store.fallback_calls == 0
            # a user with no keys yet: the target refuses a script on several missing keys of an importing slot
            # (TRYAGAIN); that one request is answered from the fallback, and the node stays in use
            fresh = next(u for u in range(100_000, 200_000) if user_slot(u) == slot)
            assert store.next_step(fresh).epoch is None and store.fallback_calls == 1 and store.available
        finally:
            _finish_migration(redis_cluster, slot, source, target)
        assert store.next_step(user)[:2] == (0, 3)  # MOVED now; the counters went with the keys


def _migrate(cluster: RedisCluster, slot: int, source: RedisServer, target: RedisServer) -> None:
    """Move a slot and its keys from ``source`` to ``target``, as ``redis-cli --cluster reshard`` does."""
    source_id, target_id = (call(s, "CLUSTER", "MYID") for s in (source, target))
    call(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)  # type: ignore[arg-type]
    call(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)  # type: ignore[arg-type]
    _finish_migration(cluster, slot, source, target)


def _finish_migration(cluster: RedisCluster, slot: int, source: RedisServer, target: RedisServer) -> None:
    """Move the slot's remaining keys, then give the slot to ``target`` on every master."""
    keys = call(source, "CLUSTER", "GETKEYSINSLOT", slot, 1000)
    assert isinstance(keys, list)
    if keys:
        call(source, "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
    target_id = call(target, "CLUSTER", "MYID")
    for server in cluster.masters:
        call(server, "CLUSTER", "SETSLOT", slot, "NODE", target_id)  # type: ignore[arg-type]
    _wait_slot_owner(cluster, slot, target)


def _wait_slot_owner(cluster: RedisCluster, slot: int, server: RedisServer) -> None:
    deadline = time.monotonic() + 10
    while any(owner_port(entry, slot) not in (None, server.port) for entry in cluster.slots()):
        assert time.monotonic() < deadline, f"slot {slot} did not move to {server.port}"
        time.sleep(0.05)


def owner_port(entry: list[object], slot: int) -> int | None:
    start, end, master = entry[0], entry[1], entry[2]
    assert isinstance(start, int) and isinstance(end, int) and isinstance(master, list)
    return int(master[1]) if start <= slot <= end else None


class TestFailover:
    def test_a_killed_master_is_replaced_by_its_replica_and_only_its_users_saw_the_fallback(
            self, tmp_path: Path) -> None:
        with RedisCluster(tmp_path, masters=3, replicas=1) as cluster:
            store = RedisStore(cluster.url, timeout=0.05, probe_interval=(0.05, 0.2))
            assert cluster.listed_replicas() == 3 and len(store.shards.nodes) == 3
            killed_index = 1
            killed_port = cluster.masters[killed_index].port
            killed_users = {u for u in range(200) if store.shards.node(u).address == ("127.0.0.1", killed_port)}
            seen: dict[int, list[tuple[int | None, int, int]]] = {u: [] for u in range(200)}
            fallback_users: set[int] = set()
            killed = threading.Event()

            def kill() -> None:
                cluster.kill_master(killed_index)
                killed.set()

            async def play() -> None:
                for round_ in range(400):
                    if round_ == 100:
                        threading.Thread(target=kill).start()
                    for user in range(200):
                        before = store.fallback_calls
                        counters = await store.next_step_async(user)
                        await store.sync_async()
                        if store.fallback_calls > before:
                            fallback_users.add(user)
                        else:
                            seen[user].append((counters.epoch, counters.session, counters.step))
                store.close()

            asyncio.run(play())
            promoted = cluster.wait_promoted(cluster.masters[killed_index])
            assert killed.is_set() and cluster.masters[killed_index].process is None  # the fault happened
            assert store.wait_available(10.0)
            assert any(n.address == ("127.0.0.1", promoted) for n in store.shards.nodes)
            assert store.fallback_calls > 0 and fallback_users and fallback_users <= killed_users
            assert store.errors >= 1
            for user, counters in seen.items():  # the other masters' users kept exact counters throughout
                assert user in killed_users or counters == [(counters[0][0], 0, step) for step in range(400)]
            # the promoted replica had the killed master's counters: its users went on in the same epoch, from
            # about where they left off (replication is asynchronous: a step written last may come again)
            for user in killed_users:
                epochs, steps = {c[0] for c in seen[user]}, [c[2] for c in seen[user]]
                assert len(epochs) == 1 and steps[-1] >= len(steps) - 2, (user, steps[-5:])


class TestCourseStoresOnACluster:
    def test_a_course_store_reads_back_what_it_uploaded(self, redis_cluster: RedisCluster) -> None:
        from botify.course.store import CourseRedis

        store = CourseRedis(f"t-{uuid.uuid4().hex[:6]}", redis_cluster.url)
        assert store.load((user, f"list-{user}") for user in range(200)) == 200
        assert store.get(7) == b"list-7" and store.get(999) is None
        assert store.mget([1, 2], 3) == [b"list-1", b"list-2", b"list-3"] and store.exists(4, 5, 999) == 2
        store.close()
        keys = [call(s, "KEYS", f"botify:course:{store.name}:*") for s in redis_cluster.masters]
        stored = sum(len(k) for k in keys if isinstance(k, list))
        assert stored == 200
