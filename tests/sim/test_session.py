"""A session played by hand: first track, listened times, artist fatigue, repeats and the budget."""

from __future__ import annotations

import numpy as np

from botify.sim.episodes import budget_uniform, episode_starts
from botify.sim.model import listen_time, play_step
from botify.sim.session import SessionPlayer
from botify.sim.world import SimWorld


def expected_time(world: SimWorld, user: int, interest: int, track: int, fatigue: int) -> float:
    truth = world.truth
    score = float(world.embeddings[track] @ world.embeddings[interest])
    raw = 1 / (1 + np.exp(-(score - truth.consume_bias[user]) * truth.consume_sharpness[user]))
    return float(np.around(raw * truth.artist_discount_gamma[user] ** fatigue, 2))


class TestSessionPlayer:
    def test_first_track_is_among_the_interest_neighbours(self, sim_world: SimWorld) -> None:
        player = SessionPlayer(sim_world, seed=3, episode=11)
        truth = sim_world.truth
        k = truth.interest_neighbours[player.user]
        scores = sim_world.embeddings @ sim_world.embeddings[player.interest]
        nearest = set(np.argsort(-scores, kind="stable")[:k].tolist())
        assert player.interest in truth.interests[player.user]
        assert player.last_track in nearest
        assert player.last_time == 1.0

    def test_steps_follow_the_equations(self, sim_world: SimWorld) -> None:
        player = SessionPlayer(sim_world, seed=3, episode=11)
        first = player.last_track
        same_artist = np.flatnonzero(sim_world.artist_id == sim_world.artist_id[first])
        other = int(np.flatnonzero(sim_world.artist_id != sim_world.artist_id[first])[0])
        budget = player.budget
        plays = [int(t) for t in same_artist if t != first][:2] + [other, first]
        fatigue = {int(sim_world.artist_id[first]): 1}
        for step, track in enumerate(plays):
            artist = int(sim_world.artist_id[track])
            expected = 0.0 if track == first else expected_time(
                sim_world, player.user, player.interest, track, fatigue.get(artist, 0)
            )
            fatigue[artist] = fatigue.get(artist, 0) + 1
            time = player.listen(track)
            assert time == expected
            if budget_uniform(3, np.array([11]), np.array([step]))[0] > expected:
                budget -= 1
            assert player.budget == budget
            if player.done:
                break

    def test_listen_time_helper_agrees(self, sim_world: SimWorld) -> None:
        starts = episode_starts(sim_world, 5, np.arange(3))
        assert starts.user.shape == (3,)
        score = np.array([10.0])
        assert listen_time(score, np.array([10.0]), np.array([1.0]), np.array([1.0]), 0, False)[0] == 0.5

    def test_listened_times_are_the_vectorised_models_bit_for_bit(self, sim_world: SimWorld) -> None:
        """The player computes a step in Python floats; it must match ``play_step`` on every draw."""
        rng = np.random.default_rng(0)
        truth = sim_world.truth
        steps = 0
        for episode in range(3000):
            player = SessionPlayer(sim_world, seed=9, episode=episode)
            while not player.done:
                # mostly the interest's neighbours (high scores, near the rounding boundaries), some repeats
                pick = rng.random()
                track = int(player.played[-1]) if pick < 0.1 else int(rng.integers(sim_world.n_tracks)) \
                    if pick < 0.4 else int(truth.interest_nearest[player.user].ravel()[rng.integers(
                        truth.interest_nearest[player.user].size)])
                user, artist = player.user, int(sim_world.artist_id[track])
                count = sum(int(sim_world.artist_id[t]) == artist for t in player.played)
                expected_time, expected_drop = play_step(
                    sim_world.embeddings, np.array([track]), sim_world.embeddings[[player.interest]],
                    truth.consume_bias[[user]], truth.consume_sharpness[[user]],
                    truth.artist_discount_gamma[[user]], count, track in player.played,
                    budget_uniform(9, np.array([episode]), np.array([player.step])))
                budget = player.budget
                assert player.listen(track) == expected_time[0]
                assert budget - player.budget == expected_drop[0]
                steps += 1
        assert steps > 10_000
