"""The random agent: the simulator picks every next track uniformly itself (no recommender, no service)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from botify.recommenders.base import Requests
from botify.sim.agents.base import Episodes, Progress
from botify.sim.engine import BatchedEngine, SessionResults
from botify.sim.returns import ListenFactors
from botify.sim.world import SimWorld
from botify.world.seeding import counter_randint

__all__ = ["RandomAgent"]

_STREAM = 101


class RandomAgent:
    """Uniformly random next tracks, drawn from the simulator's own seed."""

    def __init__(self, world: SimWorld, *, max_session_length: int = 1000) -> None:
        self.engine = BatchedEngine(world, max_session_length=max_session_length)
        self.n_tracks = world.n_tracks
        self.sessions_played = np.zeros(world.n_users, dtype=np.int64)

    def play(self, episodes: Episodes, *, seed: int, progress: Progress | None = None,
             users: npt.NDArray[np.int64] | None = None, returns: ListenFactors | None = None) -> SessionResults:
        """Play the episodes in batches."""

        def policy(requests: Requests) -> npt.NDArray[np.int64]:
            return counter_randint(seed, self.n_tracks, requests.user, requests.session, requests.step, _STREAM)

        return self.engine.run(
            policy, seed=seed, episodes=episodes, users=users, returns=returns, sessions_played=self.sessions_played,
            progress=progress,
        )
