"""A Gymnasium environment for one listening session, for people who want the standard API.

It applies the same equations as the batched engine (``botify.sim.model``); only its random draws come
from ``self.np_random`` (seeded by ``reset(seed=...)``) instead of the engine's counter-based streams.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from botify.errors import ConfigError
from botify.sim.model import budget_decrement, listen_time, taste_scores
from botify.sim.world import SimWorld

__all__ = ["SessionEnv"]

Observation = dict[str, Any]


class SessionEnv(gym.Env[Observation, int]):
    """One user's listening session.

    ## Description
    A user starts a session near one of their interest tracks; every action recommends the next track; the
    user listens to part of it; the session ends when the user's patience budget runs out (SPEC section 2).

    ## Observation
    ``{"user": Discrete(n_users), "track": Discrete(n_tracks), "time": Box(0, 1, ())}`` — the last played
    track and its listened fraction (the first track has time 1.0).

    ## Action
    ``Discrete(n_tracks)``: the recommended track id.

    ## Reward
    The listened fraction of the recommended track, in [0, 1].

    ## Episode End
    Terminated when the budget reaches 0; truncated after ``max_session_length`` recommendations.

    ## Arguments
    ``world`` (a ``SimWorld``), ``max_session_length`` (default 1000). ``reset(options={"user": u})`` fixes
    the user; otherwise it is uniform.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, world: SimWorld, *, max_session_length: int = 1000, render_mode: str | None = None) -> None:
        if render_mode not in (None, "ansi"):
            raise ConfigError(f"`render_mode` must be None or 'ansi', got {render_mode!r}")
        self.world = world
        self.max_session_length = max_session_length
        self.render_mode = render_mode
        self.observation_space = spaces.Dict(
            {
                "user": spaces.Discrete(world.n_users),
                "track": spaces.Discrete(world.n_tracks),
                "time": spaces.Box(0.0, 1.0, shape=(), dtype=np.float64),
            }
        )
        self.action_space: spaces.Space[int] = spaces.Discrete(world.n_tracks)  # type: ignore[assignment]
        self._user = 0
        self._interest = 0
        self._budget = 0
        self._played: list[int] = []
        self._artist_counts: dict[int, int] = {}
        self._last_time = 1.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Start a new session: pick the user, one interest uniformly, the first track among its k nearest."""
        super().reset(seed=seed)
        truth = self.world.truth
        user = (options or {}).get("user")
        if user is None:
            user = int(self.np_random.integers(truth.n_users))
        elif not 0 <= int(user) < truth.n_users:
            raise ConfigError(f"`options['user']` must be in [0, {truth.n_users}), got {user}")
        self._user = int(user)
        slot = int(self.np_random.integers(truth.interests.shape[1]))
        self._interest = int(truth.interests[self._user, slot])
        neighbour = int(self.np_random.integers(truth.interest_neighbours[self._user]))
        first = int(truth.interest_nearest[self._user, slot, neighbour])
        self._budget = int(truth.session_budget[self._user])
        self._played = [first]
        self._artist_counts = {int(self.world.artist_id[first]): 1}
        self._last_time = 1.0
        return self._observation(), {"interest": self._interest, "budget": self._budget}

    def step(self, action: int) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """Play the recommended track; reward is its listened fraction."""
        if not self.action_space.contains(int(action)):
            raise ConfigError(f"`action` must be a track id in [0, {self.world.n_tracks}), got {action!r}")
        if not self._played:
            raise RuntimeError("Cannot call `step` before `reset`.")
        truth, track = self.world.truth, int(action)
        artist = int(self.world.artist_id[track])
        score = taste_scores(self.world.embeddings, np.array([track]), self.world.embeddings[[self._interest]])
        time = float(
            listen_time(
                score,
                truth.consume_bias[[self._user]],
                truth.consume_sharpness[[self._user]],
                truth.artist_discount_gamma[[self._user]],
                self._artist_counts.get(artist, 0),
                track in self._played,
            )[0]
        )
        self._budget -= int(budget_decrement(np.array([self.np_random.random()]), np.array([time]))[0])
        self._played.append(track)
        self._artist_counts[artist] = self._artist_counts.get(artist, 0) + 1
        self._last_time = time
        terminated = self._budget <= 0
        truncated = not terminated and len(self._played) - 1 >= self.max_session_length
        return self._observation(), time, terminated, truncated, {"budget": self._budget}

    def render(self) -> str | None:
        """Describe the last played track (``render_mode="ansi"``)."""
        if self.render_mode != "ansi" or not self._played:
            return None
        meta = self.world.catalog.describe(self._played[-1])
        return f"user {self._user}: {meta['artist']} — {meta['title']} ({self._last_time:.2f})"

    def _observation(self) -> Observation:
        return {"user": self._user, "track": self._played[-1], "time": np.array(self._last_time, dtype=np.float64)}
