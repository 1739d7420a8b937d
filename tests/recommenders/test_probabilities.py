"""Each built-in's ``probability_batch`` is its policy: it sums to one over the catalog, and the picks follow it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.errors import ConfigError
from botify.recommenders.base import Recommender, Requests
from botify.recommenders.registry import build_recommender
from botify.world.catalog import Catalog

CASES = [("random", {}), ("toppop", {"k": 20}), ("sticky_artist", {}), ("indexed", {"artifact": "dssm"}),
         ("contextual", {"artifact": "contextual"}),
         ("mixture", {"components": [{"recommender": "random", "weight": 1},
                                     {"recommender": "toppop", "params": {"k": 20}, "weight": 2},
                                     {"recommender": "indexed", "params": {"artifact": "dssm"}, "weight": 3}]}),
         ("interleave", {"components": ["sticky_artist", {"recommender": "toppop", "params": {"k": 20}}]})]


def many_sessions(user: int, track: int, sessions: int) -> Requests:
    """One context (user, previous track, step 0) in many sessions: the draws vary, the policy does not."""
    n = sessions
    return Requests(np.full(n, user), np.full(n, track), np.ones(n), np.arange(n), np.zeros(n, np.int64))


@pytest.mark.parametrize(("name", "params"), CASES, ids=[name for name, _ in CASES])
class TestPolicies:
    def test_the_probabilities_sum_to_one_and_cover_every_pick(self, name: str, params: dict[str, object],
                                                               catalog: Catalog, model_artifacts: Path) -> None:
        recommender = build_recommender(name, catalog, params, random_state=3, artifacts=model_artifacts)
        for user, track in ((5, 17), (120, 2999)):
            everything = np.arange(catalog.n_tracks)
            one_context = many_sessions(user, track, catalog.n_tracks).take(np.zeros(catalog.n_tracks, np.int64))
            policy = recommender.probability_batch(one_context, everything)
            assert policy is not None and policy.sum() == pytest.approx(1.0, abs=1e-9)
            picks = recommender.recommend_batch(many_sessions(user, track, 200))
            assert (policy[picks] > 0).all(), "every pick has a positive probability"

    def test_the_picks_follow_the_probabilities(self, name: str, params: dict[str, object], catalog: Catalog,
                                                model_artifacts: Path) -> None:
        recommender: Recommender = build_recommender(name, catalog, params, random_state=3,
                                                     artifacts=model_artifacts)
        draws = 20_000
        picks = recommender.recommend_batch(many_sessions(7, 40, draws))
        policy = recommender.probability_batch(Requests.one(7, 40, 1.0), np.arange(catalog.n_tracks))
        assert policy is not None
        likely = np.flatnonzero(policy >= 0.02)  # tracks frequent enough to count
        for track in likely.tolist():
            expected = policy[track]
            observed = float((picks == track).mean())
            assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / draws), (track, expected)
        scalar = recommender.probability_one(7, 40, 1.0, 0, 0, int(picks[0]))
        assert scalar == pytest.approx(float(policy[picks[0]]))

    def test_one_request_gets_the_batch_probability_exactly(self, name: str, params: dict[str, object],
                                                            catalog: Catalog, model_artifacts: Path) -> None:
        recommender = build_recommender(name, catalog, params, random_state=3, artifacts=model_artifacts)
        rng = np.random.default_rng(0)
        users = np.r_[rng.integers(0, 400, 300), [10**9] * 20]  # and users no artifact knows
        tracks, sessions = rng.integers(0, catalog.n_tracks, len(users)), rng.integers(0, 5, len(users))
        requests = Requests(users, tracks, np.ones(len(users)), sessions, np.zeros(len(users), np.int64))
        chosen = np.where(rng.random(len(users)) < 0.5, recommender.recommend_batch(requests),
                          rng.integers(0, catalog.n_tracks, len(users)))
        batch = recommender.probability_batch(requests, chosen)
        assert batch is not None
        for i in range(len(users)):
            one = recommender.probability_one(int(users[i]), int(tracks[i]), 1.0, int(sessions[i]), 0, int(chosen[i]))
            assert one == batch[i], (i, one, batch[i])


def test_stateful_recommenders_do_not_claim_probabilities(catalog: Catalog, model_artifacts: Path) -> None:
    custom = build_recommender("custom", catalog, {"dssm": "dssm", "contextual": "contextual"},
                               artifacts=model_artifacts)
    assert custom.probability_batch(Requests.one(1, 2, 1.0), np.array([3])) is None


def test_a_mixture_refuses_what_it_cannot_weigh(catalog: Catalog, model_artifacts: Path) -> None:
    with pytest.raises(ConfigError, match="must be stateless"):
        build_recommender("mixture", catalog, {"components": [
            {"recommender": "custom", "params": {"dssm": "dssm", "contextual": "contextual"}, "weight": 1}]},
            artifacts=model_artifacts)
    with pytest.raises(ConfigError, match="numeric `weight`"):
        build_recommender("mixture", catalog, {"components": [{"recommender": "random"}]})


@pytest.mark.parametrize(("name", "params"), CASES, ids=[name for name, _ in CASES])
def test_the_picks_follow_the_probabilities_in_bulk(name: str, params: dict[str, object], catalog: Catalog,
                                                   model_artifacts: Path) -> None:
    """Rare tracks too: each group of tracks (about a tenth of the mass) gets the share of picks its mass says."""
    recommender = build_recommender(name, catalog, params, random_state=3, artifacts=model_artifacts)
    draws = 20_000
    picks = recommender.recommend_batch(many_sessions(7, 40, draws))
    policy = recommender.probability_batch(Requests.one(7, 40, 1.0), np.arange(catalog.n_tracks))
    assert policy is not None
    order = np.argsort(-policy, kind="stable")
    group = np.empty(catalog.n_tracks, dtype=np.int64)
    group[order] = np.minimum((np.cumsum(policy[order]) - policy[order]) // 0.1, 9).astype(np.int64)
    observed = np.bincount(group[picks], minlength=10) / draws
    expected = np.bincount(group, weights=policy, minlength=10)
    for share, mass in zip(observed.tolist(), expected.tolist(), strict=True):
        assert abs(share - mass) <= 4 * np.sqrt(mass * (1 - mass) / draws) + 1e-12, (observed, expected)


def test_a_mixture_picks_its_components_by_their_weights(catalog: Catalog) -> None:
    """Two components whose picks never coincide: TopPop's one track, and StickyArtist from another artist."""
    mixture = build_recommender("mixture", catalog, {"components": [
        {"recommender": "toppop", "params": {"k": 1}, "weight": 1},
        {"recommender": "sticky_artist", "weight": 3}]}, random_state=11)
    top = int(build_recommender("toppop", catalog, {"k": 1}).recommend_batch(Requests.one(0, 0, 1.0))[0])
    previous = int(np.flatnonzero(catalog.artist_id != catalog.artist_id[top])[0])
    draws = 20_000
    picks = mixture.recommend_batch(many_sessions(3, previous, draws))
    share = float((picks == top).mean())
    assert abs(share - 0.25) < 4 * np.sqrt(0.25 * 0.75 / draws), share
