"""Simulation sharded over a real local Ray instance (2 CPUs).

Sharded runs give the local run's sessions and table, in-process (stateful arms, two days) and over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from botify.ab.longterm import compare_long_term
from botify.cli import main
from botify.experiments import load_experiments
from botify.recipes.horizon import daily_sessions
from botify.service.process import ServiceProcess
from botify.sim.agents import InProcessAgent, RemoteAgent
from botify.sim.agents.sharded import RayAgent
from botify.sim.days import play_days
from botify.sim.engine import SessionResults
from botify.sim.world import SimWorld, load_sim_world
from botify.testing.artifacts import write_report_arms
from botify.world.config import WorldConfig
from botify.world.generate import write_world

ray = pytest.importorskip("ray", reason="needs Ray (.ci/run installs it)")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def assert_same(got: SessionResults, expected: SessionResults) -> None:
    for name in ("episode", "user", "session", "tracks", "time", "truncated"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


@pytest.mark.usefixtures("local_ray")
class TestShardedOverRay:
    def test_stateful_arms_in_process_give_the_local_days(self, sim_world: SimWorld, world_dir: Path,
                                                         model_artifacts: Path, tmp_path: Path) -> None:
        plan = load_experiments(write_report_arms(tmp_path / "report.yml"))
        local = InProcessAgent(sim_world, plan, artifacts=model_artifacts)
        sharded = RayAgent(sim_world, world_dir, plan=plan, artifacts=model_artifacts)
        assert sharded.shards == 2
        for day in (range(0, 2500), range(2500, 5000)):  # per-user state carries over days in each actor
            assert_same(sharded.play(day, seed=9), local.play(day, seed=9))

    def test_over_http_gives_the_local_agents_sessions(self, sim_world: SimWorld, world_dir: Path,
                                                       tmp_path: Path) -> None:
        config = tmp_path / "e.yml"
        config.write_text("seed: 3\nexperiments:\n  - name: E\n    arms: [random, sticky_artist]\n")
        with ServiceProcess(world_dir, config=config, log_dir=tmp_path / "local") as service:
            expected = RemoteAgent(sim_world, service.url, concurrency=8).play(range(600), seed=2)
        with ServiceProcess(world_dir, config=config, log_dir=tmp_path / "ray") as service:
            sharded = RayAgent(sim_world, world_dir, url=service.url, concurrency=8)
            got = sharded.play(range(600), seed=2)
            answered = sharded.answered_requests
        assert_same(got, expected)
        assert answered == int(got.tracks.sum()) == len((tmp_path / "ray" / "data.json").read_bytes().splitlines())

    def test_sim_run_prints_the_local_table(self, world_dir: Path) -> None:
        args = ["sim", "run", "--world", str(world_dir), "--episodes", "3000", "--days", "2", "--seed", "5"]
        local = CliRunner().invoke(main, args)
        sharded = CliRunner().invoke(main, [*args, "--ray"])
        assert local.exit_code == 0 and sharded.exit_code == 0, sharded.output
        assert "Ray: 2 shards of the users" in sharded.output
        def figures(output: str) -> list[str]:  # the progress bars' lines carry elapsed times: not results
            return [line for line in output[output.index("day 0:"):].splitlines() if "━" not in line]

        assert figures(local.output) == figures(sharded.output) and "CALIBRATION" in local.output


RETURNS_EXPERIMENT = """seed: 11
experiments:
  - name: DAYS
    arms: [random, sticky_artist, {recommender: toppop, params: {k: 20}}]
"""


@pytest.fixture(scope="module")
def returns_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("returns_world")
    write_world(path, WorldConfig(n_tracks=3000, n_users=400, return_model=True), seed=7)
    return path


@pytest.mark.usefixtures("local_ray")
class TestReturnModelOverRay:
    def test_two_shards_give_the_local_days_sessions_and_long_term_table(self, returns_world_dir: Path,
                                                                       tmp_path: Path) -> None:
        (tmp_path / "days.yml").write_text(RETURNS_EXPERIMENT)
        plan = load_experiments(tmp_path / "days.yml")
        world = load_sim_world(returns_world_dir)
        local = play_days(InProcessAgent(world, plan), world, days=6, seed=4)
        sharded_agent = RayAgent(world, returns_world_dir, plan=plan, shards=2)
        sharded = play_days(sharded_agent, world, days=6, seed=4)
        assert_same(sharded.sessions, local.sessions)
        np.testing.assert_array_equal(sharded.day, local.day)
        np.testing.assert_array_equal(sharded.left_on, local.left_on)
        assert [sharded.summary(d) for d in range(6)] == [local.summary(d) for d in range(6)]
        assert (local.left_on >= 0).any() and local.summary(0).active_users > local.summary(5).active_users
        ours, theirs = (compare_long_term(daily_sessions(h, plan), retention_days=(1, 5)) for h in (sharded, local))
        assert ours == theirs

    def test_sim_run_days_with_ray_prints_the_local_days(self, returns_world_dir: Path) -> None:
        args = ["sim", "run", "--world", str(returns_world_dir), "--days", "6", "--seed", "5"]
        local = CliRunner().invoke(main, args)
        sharded = CliRunner().invoke(main, [*args, "--ray", "--shards", "2"])
        assert local.exit_code == 0 and sharded.exit_code == 0, sharded.output
        days = [line for line in local.output.splitlines() if line.startswith("day ")]
        assert len(days) == 6 and days == [line for line in sharded.output.splitlines() if line.startswith("day ")]
