"""The remote agent against a real service over HTTP: the same sessions and the same log as in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from botify.errors import ConfigError, ServiceUnreachableError
from botify.experiments import load_experiments
from botify.service.process import ServiceProcess, free_port
from botify.sim.agents import InProcessAgent, InProcessLog, RemoteAgent
from botify.sim.world import SimWorld
from botify.testing.artifacts import write_report_arms

EXPERIMENT = """seed: 11
experiments:
  - name: PARITY
    arms: [random, sticky_artist, {recommender: toppop, params: {k: 20}}]
  - name: SHADOW
    arms: [random, random]
"""
DAYS = (range(0, 150), range(150, 300))




@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "parity.yml"
    path.write_text(EXPERIMENT)
    return path


def comparable(lines: list[bytes]) -> dict[int, list[tuple[Any, ...]]]:
    """Per user, the sequence of log lines without timestamp, latency and the counters' epoch."""
    per_user: dict[int, list[tuple[Any, ...]]] = {}
    for raw in lines:
        r = orjson.loads(raw)
        per_user.setdefault(r["user"], []).append(
            (r["message"], r["track"], r["time"], r["recommendation"], tuple(sorted(r["experiments"].items())),
             r["session"], r["step"], r.get("propensity")))
    return per_user


@pytest.fixture(scope="module")
def in_process(sim_world: SimWorld, experiment_file: Path) -> tuple[list[Any], dict[int, list[tuple[Any, ...]]]]:
    plan = load_experiments(experiment_file)
    log = InProcessLog(plan)
    agent = InProcessAgent(sim_world, plan, log=log)
    results = [agent.play(days, seed=4) for days in DAYS]
    return results, comparable(log.lines())


class TestRemoteAgent:
    @pytest.mark.parametrize(("concurrency", "pipeline", "server"),
                             [(1, 1, "eager"), (32, 1, "eager"), (32, 8, "eager"), (32, 8, "uvicorn")])
    def test_same_sessions_and_log_as_in_process(
        self, sim_world: SimWorld, world_dir: Path, experiment_file: Path, tmp_path: Path, concurrency: int,
        pipeline: int, server: str, in_process: tuple[list[Any], dict[int, list[tuple[Any, ...]]]],
    ) -> None:
        expected, expected_log = in_process
        with ServiceProcess(world_dir, config=experiment_file, log_dir=tmp_path / "log",
                            extra_args=["--server", server]) as service:
            agent = RemoteAgent(sim_world, service.url, concurrency=concurrency, pipeline=pipeline)
            for day, episodes in enumerate(DAYS):
                got = agent.play(episodes, seed=4)
                np.testing.assert_array_equal(got.user, expected[day].user)
                np.testing.assert_array_equal(got.tracks, expected[day].tracks)
                np.testing.assert_array_equal(got.time, expected[day].time)
        http_log = comparable((tmp_path / "log" / "data.json").read_bytes().splitlines())
        assert http_log == expected_log

    def test_stateful_recommenders_give_the_same_sessions_over_http(
        self, sim_world: SimWorld, world_dir: Path, model_artifacts: Path, tmp_path: Path,
    ) -> None:
        config = write_report_arms(tmp_path / "report.yml")
        plan = load_experiments(config)
        expected = InProcessAgent(sim_world, plan, artifacts=model_artifacts).play(range(300), seed=9)
        with ServiceProcess(world_dir, config=config, log_dir=tmp_path / "log",
                            extra_args=["--artifacts", str(model_artifacts)]) as service:
            got = RemoteAgent(sim_world, service.url, concurrency=16).play(range(300), seed=9)
        assert set(plan.routing.assign_many(expected.user).tolist()) == {0, 1, 2}
        np.testing.assert_array_equal(got.user, expected.user)
        np.testing.assert_array_equal(got.tracks, expected.tracks)
        np.testing.assert_array_equal(got.time, expected.time)

    def test_unreachable_service_is_a_clear_error(self, sim_world: SimWorld) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        agent = RemoteAgent(sim_world, url, retries=1, backoff=0.01)
        with pytest.raises(ServiceUnreachableError, match=f"cannot reach the Botify service at {url}"):
            agent.play(range(3), seed=0)

    def test_bad_url(self, sim_world: SimWorld) -> None:
        with pytest.raises(ConfigError, match="`url` must look like http://HOST:PORT"):
            RemoteAgent(sim_world, "ftp://x")
