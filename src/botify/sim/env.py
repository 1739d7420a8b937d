"""A Gymnasium environment for one listening session, for people who want the standard API.

It plays each episode with the step-by-step player (``session.SessionPlayer``), which applies the batched
engine's step (``model.play_step``) and the engine's counter-based draws: ``reset(seed=s)`` starts run ``s`` at
episode 0 and each later ``reset()`` plays the next episode, so the env's episodes are the engine's sessions
for the same seed (``options={"episode": n}`` jumps to one).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from botify.errors import ConfigError
from botify.sim.episodes import episode_starts
from botify.sim.session import SessionPlayer
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
    ``world`` (a ``SimWorld``), ``max_session_length`` (default 1000). ``reset(options={"episode": n})`` plays
    episode ``n`` of the run; ``reset(options={"user": u})`` fixes the user (otherwise the engine's uniform draw).

    ## Version History
    * v0: initial version (episodes drawn like the batched engine's since the user-model step was shared).
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
        self._seed: int | None = None
        self._next_episode = 0
        self._player: SessionPlayer | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Start the next episode of the run: its user, interest and first track are the engine's draws."""
        super().reset(seed=seed)
        if seed is not None:
            self._seed, self._next_episode = int(seed), 0
        elif self._seed is None:
            self._seed = int(self.np_random.integers(2**32))
        options = options or {}
        episode = int(options.get("episode", self._next_episode))
        if episode < 0:
            raise ConfigError(f"`options['episode']` must be >= 0, got {episode}")
        user = options.get("user")
        if user is not None and not 0 <= int(user) < self.world.n_users:
            raise ConfigError(f"`options['user']` must be in [0, {self.world.n_users}), got {user}")
        starts = episode_starts(self.world, self._seed, np.array([episode]), None if user is None else [int(user)])
        self._player = SessionPlayer(self.world, self._seed, episode, max_session_length=self.max_session_length,
                                     starts=starts)
        self._next_episode = episode + 1
        return self._observation(), {"interest": self._player.interest, "budget": self._player.budget,
                                     "episode": episode}

    def step(self, action: int) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """Play the recommended track; reward is its listened fraction."""
        if not self.action_space.contains(int(action)):
            raise ConfigError(f"`action` must be a track id in [0, {self.world.n_tracks}), got {action!r}")
        if self._player is None:
            raise RuntimeError("Cannot call `step` before `reset`.")
        time = self._player.listen(int(action))
        terminated = self._player.budget <= 0
        return self._observation(), time, terminated, self._player.truncated, {"budget": self._player.budget}

    def render(self) -> str | None:
        """Describe the last played track (``render_mode="ansi"``)."""
        if self.render_mode != "ansi" or self._player is None:
            return None
        meta = self.world.catalog.describe(self._player.last_track)
        return f"user {self._player.user}: {meta['artist']} — {meta['title']} ({self._player.last_time:.2f})"

    def _observation(self) -> Observation:
        assert self._player is not None
        return {"user": self._player.user, "track": self._player.last_track,
                "time": np.array(self._player.last_time, dtype=np.float64)}
