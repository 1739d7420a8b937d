"""The remote agent against a real service over HTTP: parity with in-process, at any concurrency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.errors import ServiceUnreachableError
from botify.experiments import ExperimentPlan
from botify.sim.agents import InProcessAgent, RemoteAgent
from botify.sim.world import SimWorld
from tests.servers import free_port, running_service

EXPERIMENT = """seed: 11
experiments:
  - name: PARITY
    arms: [random, sticky_artist, {recommender: toppop, params: {k: 20}}]
"""


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "parity.yml"
    path.write_text(EXPERIMENT)
    return path


class TestRemoteAgent:
    def test_same_sessions_as_in_process_at_any_concurrency(
        self, sim_world: SimWorld, world_dir: Path, experiment_file: Path
    ) -> None:
        plan = ExperimentPlan.from_dict({"seed": 11, "experiments": [
            {"name": "PARITY", "arms": ["random", "sticky_artist", {"recommender": "toppop", "params": {"k": 20}}]}]})
        local = InProcessAgent(sim_world, plan)
        expected = [local.play(range(0, 120), seed=4), local.play(range(120, 240), seed=4)]
        for concurrency in (1, 8):
            with running_service(world_dir, experiment_file) as url:
                agent = RemoteAgent(sim_world, url, concurrency=concurrency)
                for day, episodes in enumerate((range(0, 120), range(120, 240))):
                    got = agent.play(episodes, seed=4)
                    np.testing.assert_array_equal(got.user, expected[day].user)
                    np.testing.assert_array_equal(got.tracks, expected[day].tracks)
                    np.testing.assert_array_equal(got.time, expected[day].time)

    def test_unreachable_service_is_a_clear_error(self, sim_world: SimWorld) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        agent = RemoteAgent(sim_world, url, retries=1, backoff=0.01)
        with pytest.raises(ServiceUnreachableError, match=f"cannot reach the Botify service at {url}"):
            agent.play(range(3), seed=0)
