"""Baseline recommenders: what they pick, determinism, and batch/single parity."""

from __future__ import annotations

import numpy as np
import pytest

from botify.errors import ConfigError
from botify.recommenders import Requests, build_recommender
from botify.recommenders.plugins import PluginError
from botify.world.catalog import Catalog


def requests(n: int, catalog: Catalog) -> Requests:
    rng = np.random.default_rng(0)
    return Requests(
        user=rng.integers(100, size=n), track=rng.integers(catalog.n_tracks, size=n), time=rng.random(n),
        session=rng.integers(3, size=n), step=rng.integers(20, size=n),
    )


class TestBaselines:
    @pytest.mark.parametrize("name", ["random", "toppop", "sticky_artist"])
    def test_batch_equals_one_by_one(self, catalog: Catalog, name: str) -> None:
        recommender = build_recommender(name, catalog, random_state=4)
        batch = requests(50, catalog)
        answers = recommender.recommend_batch(batch)
        for row in range(50):
            single = recommender.recommend(int(batch.user[row]), int(batch.track[row]), float(batch.time[row]),
                                           int(batch.session[row]), int(batch.step[row]))
            assert single == answers[row]

    def test_random_covers_the_catalog(self, catalog: Catalog) -> None:
        n = 20_000
        distinct = Requests(user=np.zeros(n, np.int64), track=np.zeros(n, np.int64), time=np.ones(n),
                            session=np.zeros(n, np.int64), step=np.arange(n))
        answers = build_recommender("random", catalog, random_state=1).recommend_batch(distinct)
        assert answers.min() >= 0 and answers.max() < catalog.n_tracks
        assert len(np.unique(answers)) > 0.9 * catalog.n_tracks

    def test_toppop_picks_the_most_popular(self, catalog: Catalog) -> None:
        answers = build_recommender("toppop", catalog, {"k": 10}, random_state=1).recommend_batch(
            requests(2000, catalog))
        top10 = set(np.argsort(-catalog.popularity, kind="stable")[:10].tolist())
        assert set(answers.tolist()) == top10

    def test_sticky_artist_stays_with_the_artist(self, catalog: Catalog) -> None:
        batch = requests(2000, catalog)
        answers = build_recommender("sticky_artist", catalog, random_state=1).recommend_batch(batch)
        np.testing.assert_array_equal(catalog.artist_id[answers], catalog.artist_id[batch.track])

    def test_seeded_and_recorded(self, catalog: Catalog) -> None:
        a = build_recommender("random", catalog, random_state=9)
        b = build_recommender("random", catalog, random_state=9)
        assert a.recommend(1, 2, 0.5, 0, 3) == b.recommend(1, 2, 0.5, 0, 3)
        assert a.get_config() == {"recommender": "random", "random_state": 9}

    def test_unknown_name_lists_the_known_ones(self, catalog: Catalog) -> None:
        with pytest.raises(PluginError, match=r"unknown recommender 'nope'; expected one of \['contextual', "):
            build_recommender("nope", catalog)

    def test_bad_parameters_are_reported(self, catalog: Catalog) -> None:
        with pytest.raises(ConfigError, match="`k` must be an integer"):
            build_recommender("toppop", catalog, {"k": 0})
        with pytest.raises(ConfigError, match="bad parameters"):
            build_recommender("random", catalog, {"colour": 1})
