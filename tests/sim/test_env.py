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


def next_track(user: int, track: int, step: int, n_tracks: int) -> int:
    """A deterministic stand-in recommender, so that every driver asks the same thing."""
    return (track * 7919 + user * 31 + step * 104729) % n_tracks


class TestOneUserModel:
    """The env, the batched engine and the step-by-step player (the remote agent's) give the same sessions."""

    EPISODES = 300

    def engine_sessions(self, world: SimWorld, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from botify.recommenders.base import Requests
        from botify.sim.engine import BatchedEngine

        def policy(requests: Requests) -> np.ndarray:
            return np.array([next_track(int(u), int(t), int(k), world.n_tracks)
                             for u, t, k in zip(requests.user, requests.track, requests.step, strict=True)])

        results = BatchedEngine(world).run(policy, seed=seed, episodes=range(self.EPISODES))
        return results.user, results.tracks, results.time

    def test_env_engine_and_player_agree(self, sim_world: SimWorld) -> None:
        import gymnasium

        from botify.sim.session import SessionPlayer

        users, tracks, times = self.engine_sessions(sim_world, seed=17)
        env = gymnasium.make("botify/Session-v0", world=sim_world)
        for episode in range(self.EPISODES):
            obs, info = env.reset(seed=17) if episode == 0 else env.reset()
            assert info["episode"] == episode and obs["user"] == users[episode]
            played, total, done, step = 1, 1.0, False, 0
            while not done:
                obs, reward, terminated, truncated, _ = env.step(
                    next_track(int(obs["user"]), int(obs["track"]), step, sim_world.n_tracks))
                played, total, step, done = played + 1, total + float(reward), step + 1, terminated or truncated
            assert (played, total) == (tracks[episode], pytest.approx(times[episode], abs=1e-9)), episode

            player = SessionPlayer(sim_world, 17, episode)
            while not player.done:
                player.listen(next_track(player.user, player.last_track, player.step, sim_world.n_tracks))
            assert (player.user, len(player.played), player.total_time) == \
                (users[episode], tracks[episode], pytest.approx(times[episode], abs=1e-9))
