"""The in-process agent: the simulator calls recommenders directly (no HTTP), routed by the experiment."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from botify.experiments import ExperimentPlan
from botify.recommenders.base import Recommender, Requests
from botify.recommenders.registry import build_recommender
from botify.sim.agents.base import Progress
from botify.sim.engine import BatchedEngine, SessionResults
from botify.sim.world import SimWorld
from botify.world.catalog import Catalog

__all__ = ["ExperimentPolicy", "InProcessAgent"]


class ExperimentPolicy:
    """Route each request to the recommender of the user's arm in the plan's routing experiment."""

    def __init__(self, plan: ExperimentPlan, catalog: Catalog, n_users: int) -> None:
        self.plan = plan
        experiment = plan.routing
        self.recommenders: list[Recommender] = [
            build_recommender(arm.recommender, catalog, arm.params, random_state=plan.seed) for arm in experiment.arms
        ]
        self.arm_of_user = experiment.assign_many(np.arange(n_users))

    def __call__(self, requests: Requests) -> npt.NDArray[np.int64]:
        """Next track for every request, each from its user's arm."""
        if len(self.recommenders) == 1:
            return self.recommenders[0].recommend_batch(requests)
        arm = self.arm_of_user[requests.user]
        out = np.empty(len(requests), dtype=np.int64)
        for index, recommender in enumerate(self.recommenders):
            rows = np.flatnonzero(arm == index)
            if len(rows):
                out[rows] = recommender.recommend_batch(requests.take(rows))
        return out


class InProcessAgent:
    """Play episodes with the batched engine, calling the plan's recommenders in-process.

    Session numbers continue across calls (days), as the service's per-user counters do.
    """

    def __init__(self, world: SimWorld, plan: ExperimentPlan, *, max_session_length: int = 1000) -> None:
        self.engine = BatchedEngine(world, max_session_length=max_session_length)
        self.policy = ExperimentPolicy(plan, world.catalog, world.n_users)
        self.sessions_played = np.zeros(world.n_users, dtype=np.int64)

    def play(self, episodes: range, *, seed: int, progress: Progress | None = None) -> SessionResults:
        """Play the episodes in batches."""
        return self.engine.run(
            self.policy, seed=seed, episodes=episodes, sessions_played=self.sessions_played, progress=progress
        )
