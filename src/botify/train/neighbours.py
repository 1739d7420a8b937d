"""Nearest neighbours by inner product with faiss (exact flat index, or HNSW for large catalogs)."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from botify.artifacts import rows_of

__all__ = ["indexed_arrays", "top_k_for_users", "top_k_inner_product"]


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


def indexed_arrays(known_users: npt.NDArray[np.int64], user_vectors: npt.NDArray[np.float32],
                   item_vectors: npt.NDArray[np.float32], k: int, *, threads: int = 2,
                   vectors: bool = False) -> dict[str, npt.NDArray[Any]]:
    """Arrays of an ``indexed`` artifact: every known user's top-``k``, nearest first (and the vectors)."""
    items = top_k_for_users(known_users, user_vectors, item_vectors, known_users, k, threads=threads)
    arrays: dict[str, npt.NDArray[Any]] = {"users": known_users.astype(np.int64), "items": items.astype(np.int32)}
    if vectors:
        arrays |= {"user_vectors": np.ascontiguousarray(user_vectors, dtype=np.float32),
                   "item_vectors": np.ascontiguousarray(item_vectors, dtype=np.float32)}
    return arrays
