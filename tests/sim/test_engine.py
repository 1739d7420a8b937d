"""The batched engine: exact agreement with the scalar player, and independence from batch size."""

from __future__ import annotations

import numpy as np
import pytest

from botify.errors import LabError
from botify.experiments import ExperimentPlan
from botify.sim.agents import ExperimentPolicy, InProcessAgent
from botify.sim.engine import BatchedEngine
from botify.sim.episodes import session_numbers
from botify.sim.session import SessionPlayer
from botify.sim.world import SimWorld

PLAN = ExperimentPlan.single("E", ["random", "sticky_artist", "toppop"], seed=5)


def replay_with_players(world: SimWorld) -> list[tuple[SessionPlayer, int, int, float]]:
    """Every 7th of 300 engine sessions played again by the step-by-step player: (player, user, tracks, time)."""
    policy = ExperimentPolicy(PLAN, world.catalog, world.n_users)
    results = BatchedEngine(world).run(policy, seed=9, episodes=range(300))
    replayed = []
    for row in range(0, 300, 7):
        player = SessionPlayer(world, 9, int(results.episode[row]))
        while not player.done:
            session, step = int(results.session[row]), player.step
            player.listen(policy.recommenders[PLAN.routing.assign(player.user)].recommend(
                player.user, player.last_track, player.last_time, session, step))
        replayed.append((player, int(results.user[row]), int(results.tracks[row]), float(results.time[row])))
    return replayed


class TestBatchedEngine:
    def test_agrees_with_session_player(self, sim_world: SimWorld) -> None:
        for player, user, tracks, time in replay_with_players(sim_world):
            assert player.user == user
            assert len(player.played) == tracks
            assert player.total_time == pytest.approx(time, abs=1e-12)

    def test_batch_size_does_not_change_results(self, sim_world: SimWorld) -> None:
        policy = ExperimentPolicy(PLAN, sim_world.catalog, sim_world.n_users)
        big = BatchedEngine(sim_world).run(policy, seed=1, episodes=range(500), batch_size=500)
        small = BatchedEngine(sim_world).run(policy, seed=1, episodes=range(500), batch_size=17)
        np.testing.assert_array_equal(big.time, small.time)
        np.testing.assert_array_equal(big.tracks, small.tracks)

    def test_same_seed_same_sessions_other_seed_differs(self, sim_world: SimWorld) -> None:
        first = InProcessAgent(sim_world, PLAN).play(range(400), seed=2)
        again = InProcessAgent(sim_world, PLAN).play(range(400), seed=2)
        other = InProcessAgent(sim_world, PLAN).play(range(400), seed=3)
        np.testing.assert_array_equal(first.time, again.time)
        assert not np.array_equal(first.time, other.time)

    def test_truncates_endless_sessions(self, sim_world: SimWorld) -> None:
        def perfect(requests):  # type: ignore[no-untyped-def]
            return (requests.step + 1 + requests.user * 0) % sim_world.n_tracks

        results = BatchedEngine(sim_world, max_session_length=3).run(perfect, seed=0, episodes=range(50))
        assert results.steps.max() <= 3

    def test_rejects_tracks_outside_the_catalog(self, sim_world: SimWorld) -> None:
        with pytest.raises(LabError, match="outside the catalog"):
            BatchedEngine(sim_world).run(lambda r: r.user * 0 - 1, seed=0, episodes=range(5))


class TestSessionNumbers:
    def test_counts_earlier_sessions_of_the_same_user(self) -> None:
        users = np.array([4, 2, 4, 4, 2, 9])
        assert session_numbers(users).tolist() == [0, 0, 1, 2, 1, 0]

    def test_continues_across_days(self) -> None:
        played = np.zeros(10, dtype=np.int64)
        session_numbers(np.array([4, 4]), played)
        assert session_numbers(np.array([4, 1]), played).tolist() == [2, 0]


@pytest.fixture(scope="module")
def bored_world(tmp_path_factory: pytest.TempPathFactory) -> SimWorld:
    """The small test world (seed 7) with boredom within sessions."""
    from botify.sim.world import load_sim_world
    from botify.world.config import WorldConfig
    from botify.world.generate import write_world

    path = tmp_path_factory.mktemp("bored")
    write_world(path, WorldConfig(n_tracks=3000, n_users=400, session_fatigue=0.85), seed=7)
    return load_sim_world(path)


class TestSessionFatigue:
    def test_engine_and_player_agree_bit_for_bit(self, bored_world: SimWorld) -> None:
        for player, _, tracks, time in replay_with_players(bored_world):
            assert len(player.played) == tracks
            assert player.total_time == time

    def test_later_recommendations_are_listened_less(self, bored_world: SimWorld, sim_world: SimWorld) -> None:
        """The same world (seed 7) with and without boredom: same users, same draws, shorter sessions."""
        assert np.array_equal(bored_world.embeddings, sim_world.embeddings)
        sticky = ExperimentPlan.single("E", ["sticky_artist"], seed=5)
        bored = InProcessAgent(bored_world, sticky).play(range(2000), seed=3)
        fresh = InProcessAgent(sim_world, sticky).play(range(2000), seed=3)
        assert bored.time.mean() < 0.95 * fresh.time.mean()
        assert np.array_equal(bored.user, fresh.user)
