"""Shared fixtures: a small generated world on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from botify.experiments import BUNDLED, load_experiments
from botify.service.eventlog import event_line
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld, load_sim_world
from botify.world.catalog import Catalog, load_catalog
from botify.world.config import WorldConfig
from botify.world.generate import write_world

if TYPE_CHECKING:
    from botify.cluster.redis_server import RedisServer

pytest_plugins = ["pytester", "tests.ci_skips"]

SMALL = WorldConfig(n_tracks=3000, n_users=400)


@pytest.fixture(autouse=True)
def log_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the analysis' Parquet copies of logs out of the home directory."""
    monkeypatch.setenv("BOTIFY_CACHE", str(tmp_path_factory.getbasetemp() / "botify-cache"))


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("world")
    write_world(path, SMALL, seed=7)
    return path


@pytest.fixture(scope="session")
def catalog(world_dir: Path) -> Catalog:
    """The small world's public catalog."""
    return load_catalog(world_dir)


@pytest.fixture(scope="session")
def sim_world(world_dir: Path) -> SimWorld:
    return load_sim_world(world_dir)


@pytest.fixture(scope="session")
def collection_logs(sim_world: SimWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small collection day (the exploration experiment, in-process) written as a service log."""
    plan = load_experiments(BUNDLED / "exploration.yml")
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, log=log).play(range(8000), seed=11)
    directory = tmp_path_factory.mktemp("collect")
    log.write(directory)
    return directory


@pytest.fixture(scope="session")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> SimWorld:
    """The default world (50,000 tracks, 10,000 users, seed 0)."""
    path = tmp_path_factory.mktemp("default-world")
    write_world(path, WorldConfig(), seed=0)
    return load_sim_world(path)


@pytest.fixture(scope="session")
def model_artifacts(sim_world: SimWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DSSM-like and Contextual-like artifacts from seeded random vectors (the recommenders only read arrays)."""
    from botify.testing.artifacts import random_report_artifacts

    return random_report_artifacts(sim_world.catalog, sim_world.n_users, tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free port (Debian's package; `.ci/run` installs it)."""
    import shutil

    from botify.cluster.redis_server import RedisServer
    from botify.service.process import free_port

    if shutil.which("redis-server") is None:
        pytest.skip("needs Debian's redis-server (.ci/run installs it)")
    with RedisServer(free_port(), tmp_path_factory.mktemp("redis")) as server:
        yield server

def write_log_rows(path: Path, rows: list[tuple[str, int, int, float, float, str]]) -> None:
    """rows: (message, timestamp, user, time, latency_s, arm)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        for message, stamp, user, time, latency, arm in rows:
            recommendation = None if message == "last" else 1
            handle.write(event_line(message, stamp, user, 1, time, latency, recommendation, {"EXP": arm}) + b"\n")


@pytest.fixture()
def logs(tmp_path: Path) -> Path:
    # Control users 1, 2; treatment users 3, 4. Two replicas, one rotated file.
    write_log_rows(tmp_path / "r1" / "data.json.1", [
        ("next", 1, 1, 1.0, 0.001, "C"), ("next", 2, 1, 0.5, 0.001, "C"), ("last", 3, 1, 0.5, 0.001, "C"),
    ])
    write_log_rows(tmp_path / "r1" / "data.json", [
        ("next", 10, 1, 1.0, 0.002, "C"), ("last", 11, 1, 0.0, 0.002, "C"),          # user 1: times 2.0, 1.0
        ("next", 5, 3, 1.0, 0.003, "T1"), ("last", 6, 3, 0.6, 0.003, "T1"),          # user 3: time 1.6
    ])
    write_log_rows(tmp_path / "r2" / "data.json", [
        ("next", 4, 2, 1.0, 0.001, "C"), ("last", 9, 2, 0.25, 0.001, "C"),          # user 2: time 1.25
        ("next", 1, 4, 1.0, 0.001, "T1"), ("next", 2, 4, 0.8, 0.001, "T1"),
        ("last", 3, 4, 0.7, 0.001, "T1"),                                           # user 4: time 2.5
        ("next", 20, 4, 1.0, 0.001, "T1"), ("last", 21, 4, 0.5, 0.001, "T1"),       # user 4: time 1.5
        ("next", 30, 4, 1.0, 0.001, "T1"),                                          # unfinished
    ])
    with (tmp_path / "r2" / "data.json").open("ab") as handle:
        handle.write(b'{"message": "next", "timestamp": 1\n')
        handle.write(b'{"message": "skip", "timestamp": 1, "user": 1, "track": 1, "time": 1, "latency": 0, '
                     b'"recommendation": null, "experiments": {}}\n')
        handle.write(event_line("next", 40, 9, 1, 1.0, 0.0, 1, {"OTHER": "C"}) + b"\n")
    return tmp_path

