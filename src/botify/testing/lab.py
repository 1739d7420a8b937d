"""``Lab``: a small world with stand-in artifacts, and the checks every recommender should pass."""

from __future__ import annotations

import dataclasses
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from botify.experiments import ExperimentPlan
from botify.recommenders.base import Recommender, Requests
from botify.recommenders.registry import build_plan_recommenders
from botify.service.process import ServiceProcess
from botify.sim.agents import InProcessAgent, InProcessLog, RemoteAgent
from botify.sim.world import SimWorld, load_sim_world
from botify.testing.artifacts import random_report_artifacts
from botify.world.config import WorldConfig
from botify.world.generate import write_world

__all__ = ["Lab"]

Arm = dict[str, Any]


@dataclass(frozen=True)
class Lab:
    """A world folder and an artifacts folder (``dssm``, ``contextual``) to check recommenders against."""

    directory: Path
    world_dir: Path
    artifacts: Path
    search_path: Path
    seed: int = 1

    @classmethod
    def create(cls, directory: str | Path, *, tracks: int = 3000, users: int = 400, seed: int = 0,
               search_path: str | Path | None = None) -> Lab:
        """Generate a small world and random-vector ``dssm`` / ``contextual`` artifacts under ``directory``."""
        directory = Path(directory)
        world_dir, artifacts = directory / "world", directory / "artifacts"
        if not (world_dir / "catalog").is_dir():
            catalog, _ = write_world(world_dir, WorldConfig(n_tracks=tracks, n_users=users), seed)
            random_report_artifacts(catalog, users, artifacts, seed=seed)
        return cls(directory, world_dir, artifacts, Path(search_path or Path.cwd()).resolve())

    @cached_property
    def world(self) -> SimWorld:
        """The simulator's view of the small world (loaded once per ``Lab``)."""
        return load_sim_world(self.world_dir)

    def plan(self, arm: Arm) -> ExperimentPlan:
        """A one-arm experiment whose import paths resolve from ``search_path``."""
        plan = ExperimentPlan.from_dict({"seed": self.seed, "experiments": [{"name": "CHECK", "arms": [arm]}]},
                                        source=f"arm {arm}")
        return dataclasses.replace(plan, source=self.search_path / "experiment.yml")

    def build(self, arm: Arm) -> Recommender:
        """A fresh instance of ``arm``'s recommender, probed as the service probes it."""
        return build_plan_recommenders(self.plan(arm), self.world.catalog, artifacts=self.artifacts)[0]

    def play(self, arm: Arm, *, episodes: int = 300, seed: int = 5) -> list[bytes]:
        """The log lines of ``episodes`` in-process sessions served by ``arm`` (a fresh instance)."""
        plan = self.plan(arm)
        log = InProcessLog(plan)
        InProcessAgent(self.world, plan, log=log, artifacts=self.artifacts).play(range(episodes), seed=seed)
        return log.lines()

    def assert_reproducible(self, arm: Arm, *, episodes: int = 300) -> None:
        """Two fresh instances with the same seed serve exactly the same sessions."""
        first, second = self.play(arm, episodes=episodes), self.play(arm, episodes=episodes)
        assert first == second, "two runs with the same seed served different sessions"

    def assert_in_catalog(self, arm: Arm, *, episodes: int = 300) -> None:
        """Every answer is a track id of the catalog."""
        n_tracks = self.world.n_tracks
        bad = [r for r in map(orjson.loads, self.play(arm, episodes=episodes))
               if r["message"] == "next" and not 0 <= r["recommendation"] < n_tracks]
        assert not bad, f"{len(bad)} answers outside 0..{n_tracks - 1}, e.g. {bad[0]}"

    def assert_no_repeats_in_session(self, arm: Arm, *, episodes: int = 300) -> None:
        """No answer is a track the session already played (its first track included)."""
        played: dict[tuple[int, int], set[int]] = defaultdict(set)
        repeats = []
        for r in map(orjson.loads, self.play(arm, episodes=episodes)):
            if r["message"] != "next":
                continue
            session = played[(r["user"], r["session"])]
            session.add(r["track"])
            if r["recommendation"] in session:
                repeats.append(r)
            session.add(r["recommendation"])
        assert not repeats, f"{len(repeats)} answers repeat a track of their session, e.g. {repeats[0]}"

    def assert_http_matches_in_process(self, arm: Arm, *, episodes: int = 200, concurrency: int = 8) -> None:
        """A real service (``botify serve``) gives the same sessions as the in-process run."""
        plan_file = self.directory / "http-check.yml"
        plan_file.write_text(yaml.safe_dump({"seed": self.seed, "experiments": [{"name": "CHECK", "arms": [arm]}]}))
        world = self.world
        expected = InProcessAgent(world, self.plan(arm), artifacts=self.artifacts).play(range(episodes), seed=5)
        path = os.pathsep.join([str(self.search_path), os.environ.get("PYTHONPATH", "")])
        with ServiceProcess(self.world_dir, config=plan_file, log_dir=self.directory / "http-log",
                            extra_args=["--artifacts", str(self.artifacts)],
                            env={**os.environ, "PYTHONPATH": path}) as service:
            got = RemoteAgent(world, service.url, concurrency=concurrency).play(range(episodes), seed=5)
        assert np.array_equal(got.tracks, expected.tracks) and np.array_equal(got.time, expected.time), \
            "sessions over HTTP differ from the in-process ones"

    def assert_latency_below(self, arm: Arm, *, p99_ms: float, episodes: int = 300) -> float:
        """The 99th percentile of one ``recommend`` call, replaying real requests in order; returns it (ms)."""
        requests = [r for r in map(orjson.loads, self.play(arm, episodes=episodes)) if r["message"] == "next"]
        recommender = self.build(arm)
        timings = np.empty(len(requests))
        for i, r in enumerate(requests):
            started = time.perf_counter()
            recommender.recommend(r["user"], r["track"], r["time"], r["session"], r["step"])
            timings[i] = time.perf_counter() - started
        p99 = float(np.percentile(timings, 99) * 1e3)
        assert p99 < p99_ms, f"p99 latency {p99:.3f} ms over {len(requests)} requests exceeds {p99_ms} ms"
        return p99

    def answers(self, arm: Arm, requests: Requests) -> np.ndarray[Any, Any]:
        """A fresh instance's answers to a batch, for tests of your own."""
        return self.build(arm).recommend_batch(requests)
