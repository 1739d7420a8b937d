"""Through nginx and several replicas, the analysis sees exactly the sessions an in-process run of the seed has.

nginx sends one user's consecutive requests to alternating replicas; both log within the same millisecond, so a
timestamp cannot order them. The service's counters (session, step, epoch) in every line can.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest

from botify.ab import analyze_logs
from botify.ab.analyze import Analysis
from botify.cluster.redis_server import RedisServer
from botify.cluster.topology import Cluster, ClusterSpec
from botify.experiments import load_experiments
from botify.logs.reader import read_events
from botify.service.process import free_port
from botify.sim.agents import InProcessAgent, InProcessLog, RemoteAgent
from botify.sim.world import SimWorld
from botify.state.resp import RedisConnection
from botify.testing.artifacts import write_report_arms

pytestmark = pytest.mark.skipif(not (shutil.which("nginx") and shutil.which("redis-server")),
                                reason="needs Debian's nginx and redis-server (.ci/run installs them)")

DAYS = {1: range(0, 2000), 16: range(2000, 4000)}  # concurrency -> episodes: >= 2,000 sessions each
SEED = 4


@pytest.fixture(scope="module")
def report_arms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report_arms(tmp_path_factory.mktemp("exp") / "report.yml")


@pytest.fixture(scope="module")
def in_process_logs(sim_world: SimWorld, report_arms: Path, model_artifacts: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same two days in-process: the lines a single exact service would write."""
    plan = load_experiments(report_arms)
    log = InProcessLog(plan)
    agent = InProcessAgent(sim_world, plan, artifacts=model_artifacts, log=log)
    for episodes in DAYS.values():
        agent.play(episodes, seed=SEED)
    return log.write(tmp_path_factory.mktemp("in-process")).parent


class TestExactSessionsAcrossReplicas:
    @pytest.mark.parametrize(("replicas", "redis_shards"), [(2, 0), (4, 0), (2, 3)],
                             ids=["2-replicas", "4-replicas", "2-replicas-3-master-redis-cluster"])
    def test_same_sessions_and_table_as_in_process(self, replicas: int, redis_shards: int, world_dir: Path,
                                                   sim_world: SimWorld, report_arms: Path, model_artifacts: Path,
                                                   in_process_logs: Path, tmp_path: Path) -> None:
        spec = ClusterSpec(world_dir=world_dir, workdir=tmp_path / "cluster", replicas=replicas, port=free_port(),
                           config=report_arms, artifacts=model_artifacts, redis_shards=redis_shards)
        cluster = Cluster(spec).up()
        if redis_shards:
            assert cluster.state_url.startswith("redis-cluster://")
        answered = 0
        try:
            for concurrency, episodes in DAYS.items():
                agent = RemoteAgent(sim_world, cluster.url, concurrency=concurrency, retries=0)
                agent.play(episodes, seed=SEED)
                answered += agent.answered_requests
            if cluster.redis_cluster is not None:  # every master holds some users' counters
                keys = [server_keys(server) for server in cluster.redis_cluster.masters]
                assert min(keys) > 0.2 * sum(keys), keys
        finally:
            cluster.down()
        logs = [cluster.replica_log_dir(i) for i in range(replicas)]
        events, read = read_events(logs)
        assert read.malformed == 0 and read.duplicates == 0 and len(events) == read.lines == answered
        per_replica = [len(read_events([log])[0]) for log in logs]
        assert min(per_replica) > 0.5 * answered / replicas  # nginx spread the users' requests over every replica

        got, expected = analyze_logs(logs, "REPORT"), analyze_logs([in_process_logs], "REPORT")
        assert got.sessions.unfinished == 0 and len(got.sessions) == sum(len(e) for e in DAYS.values())
        for name in ("user", "arm", "sessions", "time", "tracks"):
            np.testing.assert_array_equal(getattr(got.metrics, name), getattr(expected.metrics, name), name)
        latency = ("mean_request_latency", "p99_request_latency")  # in-process lines carry zero latency
        same_rows = [(r.treatment, r.metric, r.effect, r.lower, r.upper) for r in got.rows if r.metric not in latency]
        assert same_rows == [(r.treatment, r.metric, r.effect, r.lower, r.upper) for r in expected.rows
                             if r.metric not in latency]

        # Why the counters are needed: the same lines ordered by timestamp alone lose sessions (the reported fault).
        stripped = tmp_path / "without-counters"
        stripped.mkdir()
        for index, log in enumerate(logs):
            lines = [_without_counters(line) for line in (log / "data.json").read_bytes().splitlines()]
            (stripped / f"replica{index}.json").write_bytes(b"".join(line + b"\n" for line in lines))
        by_timestamp = analyze_logs([stripped], "REPORT")
        wrong = _users_whose_sessions_differ(by_timestamp, expected)
        print(f"{replicas} replicas: {answered} requests, {len(got.sessions)} sessions; ordered by timestamp alone: "
              f"{wrong} users' sessions differ, {by_timestamp.sessions.unfinished} left out")
        assert wrong > 0


def server_keys(server: RedisServer) -> int:
    client = RedisConnection(server.url)
    try:
        return int(client.call("DBSIZE"))
    finally:
        client.close()


def _without_counters(line: bytes) -> bytes:
    record = orjson.loads(line)
    for name in ("session", "step", "epoch", "request_id"):
        record.pop(name, None)
    return orjson.dumps(record)


def _users_whose_sessions_differ(got: Analysis, expected: Analysis) -> int:
    """Users whose per-session track counts differ (the sessions of every user, in order)."""
    def per_user(analysis: Analysis) -> dict[int, list[int]]:
        sessions: dict[int, list[int]] = {}
        for user, tracks in zip(analysis.sessions.user.tolist(), analysis.sessions.tracks.tolist(), strict=True):
            sessions.setdefault(user, []).append(tracks)
        return sessions

    mine, theirs = per_user(got), per_user(expected)
    return sum(mine.get(user) != sessions for user, sessions in theirs.items())
