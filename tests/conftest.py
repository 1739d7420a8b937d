"""Shared fixtures: a small generated world on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from botify.experiments import BUNDLED, load_experiments
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld, load_sim_world
from botify.world.catalog import Catalog, load_catalog
from botify.world.config import WorldConfig

if TYPE_CHECKING:
    from botify.cluster.redis_server import RedisServer
from botify.world.generate import write_world

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
