"""A request retried on another replica after the first one logged it and died before answering counts once.

The test does exactly what nginx does in that case: the first attempt goes to replica 0, which processes and logs
it (its answer is thrown away, as a dead replica's would be); the retry, with the same ``X-Request-Id``, goes to
replica 1. The retry must get the same answer, leave the session's later draws untouched (the sessions equal an
in-process run of the seed), and the analysis must count the request once and report the duplicate.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest

from botify.ab import analyze_logs
from botify.cluster.topology import Cluster, ClusterSpec
from botify.experiments import load_experiments
from botify.logs.reader import read_events
from botify.service.process import free_port
from botify.sim.agents import InProcessAgent
from botify.sim.session import SessionPlayer
from botify.sim.world import SimWorld
from botify.testing.artifacts import write_report_arms

pytestmark = pytest.mark.skipif(not (shutil.which("nginx") and shutil.which("redis-server")),
                                reason="needs Debian's nginx and redis-server (.ci/run installs them)")

EPISODES, SEED = range(60), 5


class TestRetriedRequests:
    def test_a_request_logged_by_a_dead_replica_and_retried_counts_once(
            self, world_dir: Path, sim_world: SimWorld, model_artifacts: Path, tmp_path: Path) -> None:
        config = write_report_arms(tmp_path / "report.yml")
        plan = load_experiments(config)
        expected = InProcessAgent(sim_world, plan, artifacts=model_artifacts).play(EPISODES, seed=SEED)
        cluster = Cluster(ClusterSpec(world_dir=world_dir, workdir=tmp_path / "cluster", replicas=2,
                                      port=free_port(), config=config, artifacts=model_artifacts)).up()
        replicas = [f"http://127.0.0.1:{port}" for port in cluster.replica_ports]
        rng = np.random.default_rng(0)
        retried, requests, players = 0, 0, []
        try:
            with httpx.Client(timeout=10) as client:
                for episode in EPISODES:
                    player = SessionPlayer(sim_world, SEED, episode)
                    retry_at = int(rng.integers(0, 4))
                    index = 0
                    while not player.done:
                        body = {"track": player.last_track, "time": player.last_time}
                        headers = {"X-Request-Id": f"t-{episode}-{index}"}
                        url = f"/next/{player.user}"
                        if index == retry_at:  # first attempt on replica 0: logged, answer lost; retry on replica 1
                            lost = client.post(replicas[0] + url, json=body, headers=headers).json()["track"]
                            track = client.post(replicas[1] + url, json=body, headers=headers).json()["track"]
                            assert track == lost
                            retried += 1
                        else:
                            track = client.post(cluster.url + url, json=body, headers=headers).json()["track"]
                        player.listen(int(track))
                        index += 1
                        requests += 1
                    body = {"track": player.last_track, "time": player.last_time}
                    client.post(cluster.url + f"/last/{player.user}", json=body,
                                headers={"X-Request-Id": f"t-{episode}-{index}"})
                    requests += 1
                    players.append(player)
        finally:
            cluster.down()
        assert retried > 20 and set(plan.routing.assign_many(expected.user).tolist()) == {0, 1, 2}
        # The retries changed nothing downstream: every session is the in-process one, track for track.
        assert [p.user for p in players] == expected.user.tolist()
        assert [p.step + 1 for p in players] == expected.tracks.tolist()
        np.testing.assert_allclose([p.total_time for p in players], expected.time)

        logs = [cluster.replica_log_dir(i) for i in range(2)]
        events, read = read_events(logs)
        assert read.lines == requests + retried and read.duplicates == retried and len(events) == requests
        analysis = analyze_logs(logs, "REPORT")
        assert "retried requests counted once (duplicate lines left out): " + str(retried) in analysis.markdown()
        assert analysis.sessions.unfinished == 0 and len(analysis.sessions) == len(EPISODES)
        assert analysis.sessions.tracks.sum() == requests
