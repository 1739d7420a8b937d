"""Nearest neighbours by inner product with faiss (exact flat index, or HNSW for large catalogs)."""

from __future__ import annotations

import faiss
import numpy as np
import numpy.typing as npt

__all__ = ["top_k_inner_product"]


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
