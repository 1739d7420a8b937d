"""Nearest lists capped per artist: the shallow search with a deep one for short rows gives the deep search's rows."""

from __future__ import annotations

import numpy as np

from botify.train.neighbours import cap_per_artist, capped_top_k, top_k_inner_product


def vectors(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)


class TestCappedTopK:
    def test_the_same_rows_as_capping_the_nearest_pool(self) -> None:
        artist_of = np.repeat(np.arange(300), 10)  # 10 tracks each, close together: a row's nearest share artists
        items = vectors(300)[artist_of] + 0.3 * vectors(3000, seed=2)
        queries = vectors(400, seed=1)
        own = np.arange(400)
        deep = cap_per_artist(top_k_inner_product(items, queries, 501, threads=1), artist_of, 50, 2, exclude=own)
        shallow = capped_top_k(items, queries, 50, per_artist=2, artist_of=artist_of, pool=501, exclude=own,
                               threads=1)
        first = cap_per_artist(top_k_inner_product(items, queries, 150, threads=1), artist_of, 50, 2, exclude=own)
        assert (first < 0).any(axis=1).sum() > 0  # the deep search was needed for some rows
        np.testing.assert_array_equal(shallow, deep)

    def test_rows_that_no_pool_can_fill_are_padded_as_before(self) -> None:
        items, queries = vectors(200), vectors(30, seed=1)
        artist_of = np.arange(200) % 5  # 5 artists, at most 2 each: 10 tracks per row at most
        got = capped_top_k(items, queries, 20, per_artist=2, artist_of=artist_of, pool=200, threads=1)
        expected = cap_per_artist(top_k_inner_product(items, queries, 200, threads=1), artist_of, 20, 2)
        np.testing.assert_array_equal(got, expected)
        assert ((got >= 0).sum(axis=1) == 10).all()
