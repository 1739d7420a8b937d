"""The native cluster (Redis + 2 replicas + nginx) under faults that land while requests are in flight.

Each fault test checks that its fault happened (the process is gone, the store counted errors, the run was
mid-way) and counts exactly: every answered request is in a log once, and nothing else is.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from botify.ab import analyze_logs
from botify.cluster.topology import Cluster, ClusterSpec
from botify.logs.reader import EventColumns, LogReadReport, read_events
from botify.service.process import free_port
from botify.sim.agents import RemoteAgent
from botify.sim.engine import SessionResults
from botify.sim.world import SimWorld
from botify.testing.artifacts import write_report_arms

pytestmark = pytest.mark.skipif(not (shutil.which("nginx") and shutil.which("redis-server")),
                                reason="needs Debian's nginx and redis-server (.ci/run installs them)")

EPISODES = range(2000)


@pytest.fixture()
def cluster(world_dir: Path, model_artifacts: Path, tmp_path: Path) -> Iterator[Cluster]:
    config = write_report_arms(tmp_path / "report.yml")
    spec = ClusterSpec(world_dir=world_dir, workdir=tmp_path / "cluster", replicas=2, port=free_port(),
                       config=config, artifacts=model_artifacts)
    running = Cluster(spec).up()
    yield running
    running.down()


class Run:
    """The remote agent playing in a background thread; the test waits on its progress, not on the clock."""

    def __init__(self, agent: RemoteAgent, episodes: range) -> None:
        self.agent = agent
        self.outcome: list[object] = []
        self.thread = threading.Thread(target=self._play, args=(episodes,))
        self.thread.start()

    def _play(self, episodes: range) -> None:
        try:
            self.outcome.append(self.agent.play(episodes, seed=1))
        except Exception as error:  # reported by finish()
            self.outcome.append(error)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
        """Wait until ``condition()`` holds while the run is still going (the fault must land mid-run)."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.thread.is_alive(), f"the run ended before {what}: {self.outcome}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.002)
        assert self.thread.is_alive(), f"the run ended before {what}"

    def answered_at_least(self, count: int) -> Callable[[], bool]:
        return lambda: self.agent.answered_requests >= count

    def finish(self) -> int:
        """Wait for the end; every request must have been answered (the agent retries nothing: ``retries=0``)."""
        self.thread.join(timeout=300)
        assert not self.thread.is_alive() and not isinstance(self.outcome[0], Exception), self.outcome
        return self.agent.answered_requests


def logs_of(cluster: Cluster) -> tuple[EventColumns, LogReadReport]:
    events, read = read_events([cluster.replica_log_dir(i) for i in range(len(cluster.replica_ports))])
    assert read.malformed == 0
    return events, read


def gauge(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=2).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no gauge {name} at {url}")


def status_of(url: str) -> int:
    return httpx.get(url, timeout=2).status_code


class TestFaults:
    def test_replica_killed_mid_run_costs_the_client_nothing(self, cluster: Cluster, sim_world: SimWorld) -> None:
        run = Run(RemoteAgent(sim_world, cluster.url, concurrency=8, retries=0), EPISODES)
        run.wait_for(run.answered_at_least(3000), "3,000 answered requests")
        killed = cluster.replicas[0]
        assert killed is not None
        cluster.kill_replica(0)                                  # kill -9, requests in flight on both replicas
        killed_at_ms = time.time() * 1000
        answered_at_kill = run.agent.answered_requests
        answered = run.finish()                                  # nginx failed over: the client saw no error
        assert killed.returncode == -signal.SIGKILL
        assert answered - answered_at_kill > 3000                # the run went on, on the other replica only
        survivor, _ = read_events([cluster.replica_log_dir(1)])
        dead, _ = read_events([cluster.replica_log_dir(0)])
        assert dead.timestamp.max() <= killed_at_ms < survivor.timestamp.max()
        events, read = logs_of(cluster)
        # Exactly the answered requests, once each; a request the dead replica logged but could not answer was
        # retried by nginx on the other, answered the same, and is reported as a duplicate.
        assert len(events) == answered and read.lines == answered + read.duplicates
        print(f"answered {answered}, duplicate lines of retried requests: {read.duplicates}")

    def test_redis_outage_mid_run_is_served_from_the_fallback(self, cluster: Cluster, sim_world: SimWorld) -> None:
        assert cluster.redis is not None
        replicas = [f"http://127.0.0.1:{port}" for port in cluster.replica_ports]
        run = Run(RemoteAgent(sim_world, cluster.url, concurrency=8, retries=0), EPISODES)
        run.wait_for(run.answered_at_least(3000), "3,000 answered requests")
        cluster.redis.stop()
        stopped_at = run.agent.answered_requests
        run.wait_for(run.answered_at_least(stopped_at + 1000), "1,000 requests answered during the outage")
        assert all(status_of(url + "/ready") == 503 for url in replicas)
        cluster.redis.start()                                    # empty: counters begin a new epoch
        answered = run.finish()
        assert all(gauge(url, "botify_state_store_errors") >= 1 for url in replicas)
        assert sum(gauge(url, "botify_state_store_fallback_calls") for url in replicas) >= 1000
        deadline = time.monotonic() + 5
        while not all(status_of(url + "/ready") == 200 for url in replicas):
            assert time.monotonic() < deadline, "a replica did not find Redis again"
            time.sleep(0.05)
        events, read = logs_of(cluster)
        assert len(events) == answered and read.duplicates == 0
        assert (~events.exact()).sum() >= 1000                   # served while Redis was down: not exact, said so
        # counters begun after the outage carry later epochs than any begun before it (the users of this run are
        # not the same before and after; test_redis_store.py checks that one user's epoch moves on)
        exact, outage = events.exact(), events.timestamp[~events.exact()]
        before, after = exact & (events.timestamp < outage.min()), exact & (events.timestamp > outage.max())
        assert before.any() and after.any() and events.epoch[after].min() > events.epoch[before].max()
        analysis = analyze_logs([cluster.replica_log_dir(i) for i in range(2)], "REPORT")
        assert {row.treatment for row in analysis.rows} == {"T1", "T2"}

    def test_rolling_restart_fails_no_request_and_repeats_none(self, cluster: Cluster, sim_world: SimWorld) -> None:
        run = Run(RemoteAgent(sim_world, cluster.url, concurrency=8, retries=0), EPISODES)
        stopped = []
        for index, after in ((0, 2000), (1, 5000)):
            run.wait_for(run.answered_at_least(after), f"{after} answered requests")
            process = cluster.replicas[index]
            assert process is not None
            cluster.restart_replica(index)                       # SIGTERM: finish what was read, then start again
            stopped.append(process.returncode)
            assert cluster.replicas[index] is not None and cluster.replicas[index] is not process
        answered = run.finish()
        assert stopped == [-signal.SIGTERM] * 2                  # both ended by the SIGTERM itself, not a SIGKILL
        events, read = logs_of(cluster)
        assert len(events) == answered and read.duplicates == 0  # nothing lost, nothing processed twice

    def test_readiness_reports_redis_outage_and_recovery(self, cluster: Cluster) -> None:
        replica = f"http://127.0.0.1:{cluster.replica_ports[0]}"
        assert cluster.redis is not None
        assert cluster.state_url == f"unix://{cluster.redis.socket_path}?db=0"  # replicas share Redis's machine
        cluster.redis.stop()
        response = httpx.post(cluster.url + "/next/5", json={"track": 1, "time": 1.0})
        assert response.status_code == 200           # still answering, sessions start anew
        assert status_of(replica + "/ready") == 503
        cluster.redis.start()
        deadline = time.monotonic() + 5
        while status_of(replica + "/ready") != 200 and time.monotonic() < deadline:
            time.sleep(0.05)  # the replica's background probe finds Redis again
        assert status_of(replica + "/ready") == 200
        assert gauge(replica, "botify_state_store_errors") >= 1


class TestClusterCommands:
    @pytest.mark.parametrize("server", ["eager", "uvicorn"])
    def test_up_collect_down(self, world_dir: Path, tmp_path: Path, server: str) -> None:
        import subprocess
        import sys

        workdir, port = tmp_path / "cluster", free_port()

        def botify(*args: str) -> str:
            done = subprocess.run([sys.executable, "-m", "botify.cli", *args], capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        assert "cluster up" in botify("cluster", "up", "--replicas", "2", "--port", str(port), "--dir",
                                      str(workdir), "--catalog", str(world_dir), "--server", server)
        try:
            for pid in json.loads((workdir / "cluster.json").read_text())["replica_pids"]:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                assert command[command.index(b"--server") + 1] == server.encode()
            for user in range(6):
                response = httpx.post(f"http://127.0.0.1:{port}/next/{user}", json={"track": 1, "time": 1.0})
                assert response.status_code == 200
        finally:
            stopped = botify("cluster", "down", "--dir", str(workdir))
        assert stopped.count("stopped") == 4 and not (workdir / "cluster.json").exists()
        assert "copied 2 log file(s)" in botify("logs", "collect", "--dir", str(workdir), "--out",
                                                str(tmp_path / "collected"))
        events, read = read_events([tmp_path / "collected"])
        assert len(events.user) == 6 and read.malformed == 0

    def test_up_with_a_redis_cluster_and_down(self, world_dir: Path, tmp_path: Path) -> None:
        import subprocess
        import sys

        workdir, port = tmp_path / "cluster", free_port()
        up = subprocess.run([sys.executable, "-m", "botify.cli", "cluster", "up", "--replicas", "1", "--port",
                             str(port), "--dir", str(workdir), "--catalog", str(world_dir), "--redis-shards", "3",
                             "--redis-replicas", "1"], capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "redis-cluster://" in up.stdout
        try:
            for user in range(6):
                assert httpx.post(f"http://127.0.0.1:{port}/next/{user}", json={"track": 1, "time": 1.0}).is_success
        finally:
            down = subprocess.run([sys.executable, "-m", "botify.cli", "cluster", "down", "--dir", str(workdir)],
                                  capture_output=True, text=True, timeout=120)
        assert down.stdout.count("redis cluster node") == 6 and down.stdout.count("stopped") == 8
        events, _ = read_events([workdir / "replica0" / "log"])
        assert events.exact().all() and len(events.user) == 6  # every line's counters came from the cluster


class TestRedisClusterFailover:
    def test_a_killed_master_is_failed_over_mid_run_and_nothing_is_double_counted(
            self, world_dir: Path, model_artifacts: Path, sim_world: SimWorld, tmp_path: Path) -> None:
        spec = ClusterSpec(world_dir=world_dir, workdir=tmp_path / "cluster", replicas=2, port=free_port(),
                           config=write_report_arms(tmp_path / "report.yml"), artifacts=model_artifacts,
                           redis_shards=3, redis_replicas=1)
        cluster = Cluster(spec).up()
        try:
            redis = cluster.redis_cluster
            assert redis is not None and redis.listed_replicas() == 3
            replicas = [f"http://127.0.0.1:{port}" for port in cluster.replica_ports]
            run = Run(RemoteAgent(sim_world, cluster.url, concurrency=8, retries=0), range(6000))
            run.wait_for(run.answered_at_least(3000), "3,000 answered requests")
            killed = redis.kill_master(0)                        # kill -9 while requests are in flight
            promoted = redis.wait_promoted(killed)
            at_promotion = run.agent.answered_requests
            run.wait_for(run.answered_at_least(at_promotion + 2000), "2,000 requests after the promotion")
            answered = run.finish()
            assert killed.process is None and promoted in {server.port for server in redis.replicas}
            fallback = sum(gauge(url, "botify_state_store_fallback_calls") for url in replicas)
            assert fallback > 0 and all(gauge(url, "botify_state_store_errors") >= 1 for url in replicas)
            deadline = time.monotonic() + 10
            while not all(status_of(url + "/ready") == 200 for url in replicas):
                assert time.monotonic() < deadline, "a replica did not take up the promoted master"
                time.sleep(0.05)
        finally:
            cluster.down()
        results = run.outcome[0]
        assert isinstance(results, SessionResults)
        events, read = logs_of(cluster)
        # every answered request is one line, once (nothing lost, nothing counted twice): the simulator's tracks
        # and listening time, to the last line
        assert len(events) == answered == int(results.tracks.sum()) and read.duplicates == 0
        np.testing.assert_allclose(events.time.sum(), results.time.sum(), rtol=1e-12)
        # the lines answered from the fallback say so, and only they
        inexact = ~events.exact()
        assert int(inexact.sum()) == fallback
        # users who never met the fallback have exactly the simulator's sessions; the others are cut by timestamp
        touched = set(np.unique(events.user[inexact]).tolist())
        sessions = analyze_logs([cluster.replica_log_dir(i) for i in range(2)], "REPORT").sessions
        got, truth = per_user_tracks(sessions.user, sessions.tracks), per_user_tracks(results.user, results.tracks)
        assert all(got.get(user) == tracks for user, tracks in truth.items() if user not in touched)
        assert 0 < len(touched) < len(truth) and sessions.unfinished <= len(touched)
        print(f"answered {answered}; {fallback:.0f} from the fallback ({len(touched)} users) while port "
              f"{killed.port} was failed over to {promoted}; {sessions.unfinished} session(s) left out")


def per_user_tracks(users: np.ndarray, tracks: np.ndarray) -> dict[int, list[int]]:
    """Each user's session lengths, in order."""
    found: dict[int, list[int]] = {}
    for user, count in zip(users.tolist(), tracks.tolist(), strict=True):
        found.setdefault(user, []).append(count)
    return found
