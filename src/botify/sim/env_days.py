"""A Gymnasium environment for one user over many days, under the return model (docs/returns.md).

An env episode is one user's horizon: every session they play on every day they come back, until they leave for
good or the horizon ends. The user's visits, sessions and listened times are the batched engine's for the same
seed and the same recommendations (the return model's draws are counter-based per user, and users do not
affect each other), so an RL agent trained here meets the users ``botify sim run --days`` plays.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from botify.errors import ConfigError
from botify.sim.episodes import episode_starts
from botify.sim.returns import ReturnState
from botify.sim.session import SessionPlayer
from botify.sim.world import SimWorld

__all__ = ["ReturningUserEnv"]

Observation = dict[str, Any]


class ReturningUserEnv(gym.Env[Observation, int]):
    """One user's listening over ``days`` days.

    ## Description
    The user visits on the days the return model says; each visit is one or more sessions (SPEC section 2's
    model, with the artists' fatigue across sessions); how each session goes moves their chance to come back.

    ## Observation
    ``{"user", "track", "time", "day": Discrete(days), "session": Discrete(max sessions)}`` — the last played
    track and its listened fraction, the day, and the user's session number in the horizon (what the service
    counts, the ``session`` of a recommender's request).

    ## Action
    ``Discrete(n_tracks)``: the recommended track id.

    ## Reward
    The listened fraction of the recommended track: the horizon's return is the user's listened time.

    ## Episode End
    Terminated when the user leaves for good; truncated when the horizon's last day ends.

    ## Arguments
    ``world`` (a ``SimWorld`` with the return model), ``days`` (default 14), ``max_session_length``.
    ``reset(seed=s)`` starts run ``s`` with user 0 and each later ``reset()`` the next user who visits at least
    once; ``reset(options={"user": u})`` picks the user.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": []}

    def __init__(self, world: SimWorld, *, days: int = 14, max_session_length: int = 1000) -> None:
        if world.truth.returns is None:
            raise ConfigError("ReturningUserEnv needs a world with the return model (--set return_model=true)")
        if days < 1:
            raise ConfigError(f"`days` must be >= 1, got {days}")
        self.world = world
        self.days = days
        self.max_session_length = max_session_length
        most_sessions = days * world.truth.returns.knobs.max_sessions_per_day
        self.observation_space = spaces.Dict({
            "user": spaces.Discrete(world.n_users),
            "track": spaces.Discrete(world.n_tracks),
            "time": spaces.Box(0.0, 1.0, shape=(), dtype=np.float64),
            "day": spaces.Discrete(days),
            "session": spaces.Discrete(most_sessions),
        })
        self.action_space: spaces.Space[int] = spaces.Discrete(world.n_tracks)  # type: ignore[assignment]
        self._seed: int | None = None
        self._next_user = 0
        self._state: ReturnState | None = None
        self._player: SessionPlayer | None = None
        self.user = -1
        self.day = 0
        self.wave = 0
        self.sessions = 0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Observation, dict[str, Any]]:
        """Start a user's horizon at their first session."""
        super().reset(seed=seed)
        if seed is not None:
            self._seed, self._next_user = int(seed), 0
        elif self._seed is None:
            self._seed = int(self.np_random.integers(2**32))
        options = options or {}
        fixed = options.get("user")
        if fixed is not None and not 0 <= int(fixed) < self.world.n_users:
            raise ConfigError(f"`options['user']` must be in [0, {self.world.n_users}), got {fixed}")
        candidates = [int(fixed)] if fixed is not None else range(self._next_user, self.world.n_users)
        for user in candidates:
            if self._begin(user):
                self._next_user = user + 1
                return self._observation(), {"day": self.day}
        who = f"user {fixed}" if fixed is not None else f"no user from {self._next_user} on"
        raise ConfigError(f"{who} visits in {self.days} days with seed {self._seed}")

    def step(self, action: int) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """Play the recommended track; when the session ends, the model decides the user's next one."""
        if self._player is None or self._state is None:
            raise RuntimeError("Cannot call `step` before `reset` (or after the episode ended).")
        if not self.action_space.contains(int(action)):
            raise ConfigError(f"`action` must be a track id in [0, {self.world.n_tracks}), got {action!r}")
        time = self._player.listen(int(action))
        info: dict[str, Any] = {"day": self.day, "session_ended": self._player.done}
        if not self._player.done:
            return self._observation(), time, False, False, info
        player, state = self._player, self._state
        users = np.array([self.user])
        again = state.end_wave(self.wave, users, np.array([player.total_time]),
                               np.full(len(player.artists), player.episode, np.int64),
                               np.array(sorted(player.artists), np.int64))
        self.sessions += 1
        last = self._observation()
        if len(again):
            self._start_session(self.wave + 1)
            return self._observation(), time, False, False, info
        left = bool(state.left[self.user])
        if not left and self._next_visit():
            return self._observation(), time, False, False, info
        self._player = None
        info["left"] = left
        return last, time, left, not left, info

    def _begin(self, user: int) -> bool:
        assert self._seed is not None
        self._state = ReturnState(self.world, self._seed)
        self.user, self.sessions, self.day = user, 0, -1
        return self._next_visit()

    def _next_visit(self) -> bool:
        """Advance to the user's next visiting day and start its first session; False when none is left."""
        assert self._state is not None
        while self.day + 1 < self.days:
            self.day += 1
            if self.user in set(self._state.start_day(self.day).tolist()):
                self._start_session(0)
                return True
        return False

    def _start_session(self, wave: int) -> None:
        assert self._state is not None and self._seed is not None
        self.wave = wave
        episode = int(self._state.episodes(wave, np.array([self.user]))[0])
        starts = episode_starts(self.world, self._seed, np.array([episode]), [self.user])
        self._player = SessionPlayer(self.world, self._seed, episode, starts=starts,
                                     max_session_length=self.max_session_length, returns=self._state)

    def _observation(self) -> Observation:
        assert self._player is not None
        return {"user": self.user, "track": self._player.last_track,
                "time": np.array(self._player.last_time, dtype=np.float64), "day": self.day,
                "session": self.sessions}
