"""Nearest neighbours by inner product with faiss (exact flat index, or HNSW for large catalogs)."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from botify.artifacts import rows_of

__all__ = ["cap_per_artist", "capped_top_k", "indexed_arrays", "item_neighbours", "top_k_for_users",
           "top_k_inner_product"]


def top_k_inner_product(items: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int, *,
                        index: str = "flat", threads: int = 2) -> npt.NDArray[np.int32]:
    """Top-``k`` item rows for each query row, best first (``-1`` pads if fewer items).

    ``index="flat"`` is exact (faiss ``IndexFlatIP``); ``"hnsw"`` is approximate (``IndexHNSWFlat``, inner
    product), for catalogs where exact search is too slow.
    """
    faiss.omp_set_num_threads(threads)
    items = np.ascontiguousarray(items, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    dim = items.shape[1]
    if index == "flat":
        search: faiss.Index = faiss.IndexFlatIP(dim)
    elif index == "hnsw":
        search = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        search.hnsw.efSearch = max(2 * k, 64)
    else:
        raise ValueError(f"`index` must be 'flat' or 'hnsw', got {index!r}")
    search.add(items)
    _, found = search.search(queries, min(k, len(items)))
    out = np.full((len(queries), k), -1, dtype=np.int32)
    out[:, : found.shape[1]] = found
    return out


def top_k_for_users(known_users: npt.NDArray[np.int64], user_vectors: npt.NDArray[np.float32],
                    item_vectors: npt.NDArray[np.float32], users: npt.NDArray[np.int64], k: int, *,
                    threads: int = 2) -> npt.NDArray[np.int64]:
    """Top-``k`` items per user by inner product; rows of users not in ``known_users`` (sorted) are ``-1``."""
    rows = rows_of(known_users, users)
    known = rows >= 0
    out = np.full((len(users), k), -1, dtype=np.int64)
    if known.any():
        out[known] = top_k_inner_product(item_vectors, user_vectors[rows[known]], k, threads=threads)
    return out


def cap_per_artist(candidates: npt.NDArray[np.integer[Any]], artist_of: npt.NDArray[np.integer[Any]], k: int,
                   per_artist: int, exclude: npt.NDArray[np.integer[Any]] | None = None) -> npt.NDArray[np.int32]:
    """Keep each row's first ``k`` candidates with at most ``per_artist`` tracks of one artist (``-1`` pads).

    Rows stay in their order (nearest first); ``-1`` candidates and the row's ``exclude`` track are skipped.
    """
    candidates = np.asarray(candidates)
    out = np.full((len(candidates), k), -1, dtype=np.int32)
    if candidates.size == 0:
        return out
    usable = candidates >= 0
    if exclude is not None:
        usable &= candidates != np.asarray(exclude)[:, None]
    # Skipped candidates get artist -1, so they use up no artist's share.
    artists = np.where(usable, np.asarray(artist_of)[np.where(usable, candidates, 0)], -1).astype(np.int64)
    # How many candidates of the same artist come earlier in the row: a stable sort by artist keeps each
    # artist's candidates in row order, and a candidate's place in its artist's run is that count.
    order = np.argsort(artists, axis=1, kind="stable")
    grouped = np.take_along_axis(artists, order, axis=1)
    position = np.broadcast_to(np.arange(candidates.shape[1]), candidates.shape)
    run_starts = np.ones(candidates.shape, dtype=bool)
    run_starts[:, 1:] = grouped[:, 1:] != grouped[:, :-1]
    earlier_in_run = position - np.maximum.accumulate(np.where(run_starts, position, 0), axis=1)
    earlier = np.empty_like(earlier_in_run)
    np.put_along_axis(earlier, order, earlier_in_run, axis=1)
    kept = usable & (earlier < per_artist)
    rank = np.cumsum(kept, axis=1)
    kept &= rank <= k
    rows, columns = np.nonzero(kept)
    out[rows, rank[rows, columns] - 1] = candidates[rows, columns]
    return out


def capped_top_k(items: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int, *, per_artist: int,
                 artist_of: npt.NDArray[np.integer[Any]], pool: int,
                 exclude: npt.NDArray[np.integer[Any]] | None = None, threads: int = 2) -> npt.NDArray[np.int32]:
    """Each query's ``k`` nearest items with at most ``per_artist`` of one artist, taken from its nearest ``pool``.

    ``cap_per_artist`` over the nearest ``pool``, found with less search: the nearest ``3 k`` fill almost every
    row (98 % of diverse Contextual's on the demo's collection day), and only the rows they leave short are
    searched again to ``pool``. A row's nearest ``3 k`` are the first ``3 k`` of its nearest ``pool``, except that
    faiss may order two items whose scores differ in the last bits either way for different depths: Contextual's
    lists came out identical on the demo's collection day (both models), DSSM's users' lists (depth 600) had 4
    such swaps in 10,000 rows, so DSSM's export keeps the one deep search. ``exclude`` is each query's own track.
    """
    first = min(pool, 3 * k)
    capped = cap_per_artist(top_k_inner_product(items, queries, first, threads=threads), artist_of, k, per_artist,
                            exclude=exclude)
    short = np.flatnonzero((capped < 0).any(axis=1)) if first < pool else np.zeros(0, np.int64)
    if len(short):
        capped[short] = cap_per_artist(top_k_inner_product(items, queries[short], pool, threads=threads), artist_of,
                                       k, per_artist, exclude=None if exclude is None else exclude[short])
    return capped


def indexed_arrays(known_users: npt.NDArray[np.int64], user_vectors: npt.NDArray[np.float32],
                   item_vectors: npt.NDArray[np.float32], k: int, *, threads: int = 2, vectors: bool = False,
                   per_artist: int | None = None, artist_of: npt.NDArray[np.integer[Any]] | None = None,
                   pool: int = 600, neighbours: int = 100) -> dict[str, npt.NDArray[Any]]:
    """Arrays of an ``indexed`` artifact: every known user's top-``k``, nearest first.

    With ``per_artist``, each list keeps at most that many tracks of one artist, taken from the nearest ``pool``.
    With ``vectors``, also both towers' vectors and each item's ``neighbours`` nearest items.
    """
    items: npt.NDArray[Any]
    if per_artist is None:
        items = top_k_for_users(known_users, user_vectors, item_vectors, known_users, k, threads=threads)
    else:
        if artist_of is None:
            raise ValueError("`per_artist` needs `artist_of`")
        pooled = top_k_for_users(known_users, user_vectors, item_vectors, known_users, pool, threads=threads)
        items = cap_per_artist(pooled, artist_of, k, per_artist)
    arrays: dict[str, npt.NDArray[Any]] = {"users": known_users.astype(np.int64), "items": items.astype(np.int32)}
    if vectors:
        arrays |= {"user_vectors": np.ascontiguousarray(user_vectors, dtype=np.float32),
                   "item_vectors": np.ascontiguousarray(item_vectors, dtype=np.float32),
                   "item_neighbours": item_neighbours(item_vectors, neighbours, threads=threads)}
    return arrays


def item_neighbours(item_vectors: npt.NDArray[np.float32], k: int, *, threads: int = 2) -> npt.NDArray[np.int32]:
    """Each item's ``k`` nearest other items by inner product, nearest first (itself left out)."""
    found = top_k_inner_product(item_vectors, item_vectors, k + 1, threads=threads)
    keep = found != np.arange(len(found))[:, None]
    keep &= np.cumsum(keep, axis=1) <= k  # drop the item itself, or the last one if it was not found
    return np.ascontiguousarray(found[keep].reshape(len(found), k), dtype=np.int32)
