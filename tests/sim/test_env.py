"""The Gymnasium environment: API conformance, seeding and the shared equations."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from botify.errors import ConfigError
from botify.sim.env import SessionEnv
from botify.sim.world import SimWorld


def rollout(env: SessionEnv, seed: int) -> list[tuple[int, float]]:
    obs, _ = env.reset(seed=seed)
    trajectory = [(obs["track"], float(obs["time"]))]
    rng = np.random.default_rng(seed)
    done = False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(rng.integers(env.world.n_tracks)))
        trajectory.append((obs["track"], reward))
        done = terminated or truncated
    return trajectory


class TestSessionEnv:
    def test_passes_the_gymnasium_checker(self, sim_world: SimWorld) -> None:
        check_env(SessionEnv(sim_world), skip_render_check=True)

    def test_same_seed_same_trajectory(self, sim_world: SimWorld) -> None:
        env = SessionEnv(sim_world)
        assert rollout(env, 123) == rollout(env, 123)

    def test_random_sessions_end_when_the_budget_runs_out(self, sim_world: SimWorld) -> None:
        env = SessionEnv(sim_world)
        lengths = [len(rollout(env, seed)) - 1 for seed in range(30)]
        assert min(lengths) >= int(sim_world.truth.session_budget.min())

    def test_fixed_user_and_render(self, sim_world: SimWorld) -> None:
        env = SessionEnv(sim_world, render_mode="ansi")
        obs, info = env.reset(seed=0, options={"user": 5})
        assert obs["user"] == 5 and info["interest"] in sim_world.truth.interests[5]
        assert "user 5" in (env.render() or "")

    def test_rejects_bad_actions(self, sim_world: SimWorld) -> None:
        env = SessionEnv(sim_world)
        env.reset(seed=0)
        with pytest.raises(ConfigError, match="`action` must be a track id"):
            env.step(sim_world.n_tracks)


class TestRegistration:
    def test_gymnasium_makes_the_env_by_its_id(self, sim_world: SimWorld) -> None:
        import gymnasium

        env = gymnasium.make("botify/Session-v0", world=sim_world, max_session_length=50)
        assert isinstance(env.unwrapped, SessionEnv) and env.unwrapped.max_session_length == 50
        obs, _ = env.reset(seed=5)
        assert 0 <= obs["track"] < sim_world.n_tracks
        env.close()
