"""Nearest lists capped per artist: each row is what a walk down it keeps.

The shallow search with a deep one for short rows gives the deep search's rows.
"""

from __future__ import annotations

import numpy as np

from botify.train.neighbours import cap_per_artist, capped_top_k, top_k_inner_product


def vectors(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)


def walked(ranked: list[int], artist_of: np.ndarray, k: int, per_artist: int, own: int) -> list[int]:
    """One row capped the obvious way: down the row, skipping -1, the own track and artists already full."""
    chosen: list[int] = []
    for candidate in ranked:
        if candidate < 0 or candidate == own:
            continue
        if sum(artist_of[c] == artist_of[candidate] for c in chosen) < per_artist and len(chosen) < k:
            chosen.append(candidate)
    return chosen + [-1] * (k - len(chosen))


class TestCapPerArtist:
    def test_every_row_is_what_a_walk_down_it_keeps(self) -> None:
        rng = np.random.default_rng(0)
        for case in range(200):  # rows with -1 gaps, own tracks, few and many artists, short and long rows
            tracks, rows, width = int(rng.integers(5, 120)), int(rng.integers(1, 30)), int(rng.integers(1, 50))
            artist_of = rng.integers(int(rng.integers(1, 20)), size=tracks)
            candidates = np.stack([rng.permutation(tracks)[:width] for _ in range(rows)])
            candidates[rng.random(candidates.shape) < 0.1] = -1
            k, per_artist = int(rng.integers(1, 25)), int(rng.integers(1, 4))
            own = rng.integers(tracks, size=rows) if case % 2 else None
            got = cap_per_artist(candidates, artist_of, k, per_artist, exclude=own)
            expected = [walked(row, artist_of, k, per_artist, -1 if own is None else int(own[i]))
                        for i, row in enumerate(candidates.tolist())]
            np.testing.assert_array_equal(got, np.array(expected, dtype=np.int32).reshape(rows, k))

    def test_no_rows_give_no_rows(self) -> None:
        assert cap_per_artist(np.zeros((0, 10), np.int64), np.arange(5), 3, 1).shape == (0, 3)


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
