"""Simulation sharded over Ray: each shard, a Ray actor, plays the episodes of its users, in-process or over HTTP.

Users are split by ``user % shards``, so every session of a user is played by one actor, in episode order, with the
per-user state (session numbers, a stateful recommender's session state) kept in that actor from day to day:
the same seed gives the local run's sessions exactly (the draws are counter-based). Under the return model the
driver keeps who comes back and when (``botify.sim.days``); before each wave, every actor gets its users' artist
fatigue (``ReturnState.fatigue_of``), all that playing their sessions needs, and sends back the artists heard.
Each actor loads the world from its directory, so every Ray node needs it at the same path (or on a shared file
system). Ray is an optional dependency: ``pip install 'botify[ray]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.errors import LabError
from botify.experiments import ExperimentPlan
from botify.sim.agents.base import Episodes, Progress
from botify.sim.agents.inprocess import InProcessAgent
from botify.sim.agents.remote import RemoteAgent
from botify.sim.engine import SessionResults
from botify.sim.episodes import episode_starts
from botify.sim.returns import ListenFactors, ReturnState, fatigue_view
from botify.sim.world import SimWorld, load_sim_world

__all__ = ["RayAgent", "require_ray"]

_CHUNK = 20_000  # episodes per call to an actor: the progress bar moves this often


def require_ray() -> Any:
    """Import Ray, or say how to install it."""
    try:
        import ray
    except ImportError as error:
        raise LabError("--ray needs Ray, an optional dependency: pip install 'botify[ray]' (ray==2.60.0)") from error
    return ray


class _Shard:
    """One actor: an in-process or remote agent for the users of one shard."""

    def __init__(self, world_dir: str, plan: ExperimentPlan | None, artifacts: str | None, url: str | None,
                 concurrency: int, max_session_length: int, pipeline: int = 1) -> None:
        world = load_sim_world(world_dir)
        self.world = world
        self.agent: InProcessAgent | RemoteAgent
        if url is None:
            assert plan is not None
            self.agent = InProcessAgent(world, plan, artifacts=artifacts, max_session_length=max_session_length)
        else:
            self.agent = RemoteAgent(world, url, concurrency=concurrency, max_session_length=max_session_length,
                                     pipeline=pipeline)

    def play(self, episodes: npt.NDArray[np.int64], users: npt.NDArray[np.int64], seed: int,
             fatigue: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None = None) -> SessionResults:
        returns = None if fatigue is None else fatigue_view(self.world, *fatigue)
        return self.agent.play(episodes, seed=seed, users=users, returns=returns)

    def requests(self) -> tuple[int, int]:
        agent = self.agent
        return (agent.answered_requests, agent.retried_requests) if isinstance(agent, RemoteAgent) else (0, 0)


class RayAgent:
    """Play episodes on Ray actors, one per shard of the users.

    Parameters
    ----------
    world, world_dir : the world (the driver draws each episode's user) and its directory (the actors load it).
    plan, artifacts : the experiment to play in-process; or ``url`` (and ``concurrency`` and ``pipeline`` per actor,
        as ``RemoteAgent``'s) for HTTP.
    address : ``None`` starts a local Ray instance; else a cluster address (``auto``, ``HOST:PORT``, ``ray://…``).
    shards : actors (default: the cluster's CPUs).
    """

    def __init__(self, world: SimWorld, world_dir: str | Path, *, plan: ExperimentPlan | None = None,
                 artifacts: str | Path | None = None, url: str | None = None, concurrency: int = 16,
                 address: str | None = None, shards: int | None = None, max_session_length: int = 1000,
                 pipeline: int = 1) -> None:
        if (plan is None) == (url is None):
            raise LabError("RayAgent plays either an experiment in-process (plan) or a service (url)")
        ray = require_ray()
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        self.ray = ray
        self.world = world
        self.remote = url is not None
        self.shards = shards or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        actor = ray.remote(num_cpus=1)(_Shard)
        self.actors = [actor.remote(str(world_dir), plan, None if artifacts is None else str(artifacts), url,
                                    concurrency, max_session_length, pipeline) for _ in range(self.shards)]

    def play(self, episodes: Episodes, *, seed: int, progress: Progress | None = None,
             users: npt.NDArray[np.int64] | None = None, returns: ListenFactors | None = None) -> SessionResults:
        """Play the episodes on the actors and return their sessions in episode order."""
        if returns is not None and not isinstance(returns, ReturnState):
            raise LabError("RayAgent plays the return model from its ReturnState (botify.sim.days)")
        numbers = np.asarray(episodes, dtype=np.int64)
        users = episode_starts(self.world, seed, numbers).user if users is None else np.asarray(users, np.int64)
        calls = []
        for shard, actor in enumerate(self.actors):
            rows = np.flatnonzero(users % self.shards == shard)
            for begin in range(0, len(rows), _CHUNK):  # an actor plays its calls in order: a user's sessions too
                calls.append((actor, rows[begin : begin + _CHUNK]))
        fatigue = [None] * len(calls) if returns is None else returns.fatigue_of([users[c] for _, c in calls])
        pending: dict[Any, int] = {}
        for (actor, chunk), mine in zip(calls, fatigue, strict=True):
            pending[actor.play.remote(numbers[chunk], users[chunk], seed, mine)] = len(chunk)
        parts = []
        waiting = list(pending)
        while waiting:
            done, waiting = self.ray.wait(waiting, num_returns=1)
            parts.append(self.ray.get(done[0]))
            if progress is not None:
                progress(pending[done[0]])
        return SessionResults.concat(parts, in_episode_order=True)

    @property
    def answered_requests(self) -> int:
        """HTTP requests answered, over every actor (remote mode)."""
        return sum(answered for answered, _ in self.ray.get([a.requests.remote() for a in self.actors]))

    @property
    def retried_requests(self) -> int:
        """HTTP attempts retried, over every actor (remote mode)."""
        return sum(retried for _, retried in self.ray.get([a.requests.remote() for a in self.actors]))
