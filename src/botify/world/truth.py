"""The simulator's private truth: taste embeddings and users' hidden parameters.

Only ``botify.sim`` (and the world generator) may import this module or read ``truth/``; a test enforces it.
Files: ``embeddings.npy`` (float32, tracks x dim), ``users.parquet`` (one row per user),
``interest_nearest.npy`` (int32, users x interests x k: the k tracks nearest each interest, nearest first).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from botify.errors import WorldError
from botify.world.returns import ReturnTruth, load_returns

__all__ = ["TRUTH_DIR", "Truth", "load_truth", "nearest_by_inner_product"]

TRUTH_DIR = "truth"


@dataclass(frozen=True)
class Truth:
    """Hidden parameters of the simulated world (SPEC section 2)."""

    embeddings: npt.NDArray[np.float32]
    interests: npt.NDArray[np.int32]
    interest_nearest: npt.NDArray[np.int32]
    interest_neighbours: npt.NDArray[np.int32]
    consume_bias: npt.NDArray[np.float64]
    consume_sharpness: npt.NDArray[np.float64]
    session_budget: npt.NDArray[np.int32]
    artist_discount_gamma: npt.NDArray[np.float64]
    manifest: dict[str, Any]
    returns: ReturnTruth | None = None
    """The return model's users and knobs; None when the world has it off."""

    @property
    def session_fatigue(self) -> float:
        """The generator's ``session_fatigue`` knob (1.0, off, for worlds without it: imported or fitted ones)."""
        return float(self.manifest.get("config", {}).get("session_fatigue", 1.0))

    @property
    def n_users(self) -> int:
        """Number of users."""
        return int(self.interests.shape[0])

    @property
    def n_tracks(self) -> int:
        """Number of tracks."""
        return int(self.embeddings.shape[0])

    def save(self, world_dir: Path) -> None:
        """Write ``world_dir/truth/``."""
        out = Path(world_dir) / TRUTH_DIR
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "embeddings.npy", self.embeddings)
        np.save(out / "interest_nearest.npy", self.interest_nearest)
        n_users, n_interests = self.interests.shape
        table = pa.table(
            {
                "user": pa.array(np.arange(n_users, dtype=np.int32)),
                "interests": pa.FixedSizeListArray.from_arrays(pa.array(self.interests.reshape(-1)), n_interests),
                "interest_neighbours": pa.array(self.interest_neighbours),
                "consume_bias": pa.array(self.consume_bias),
                "consume_sharpness": pa.array(self.consume_sharpness),
                "session_budget": pa.array(self.session_budget),
                "artist_discount_gamma": pa.array(self.artist_discount_gamma),
            }
        )
        pq.write_table(table, out / "users.parquet", compression="zstd")
        (out / "manifest.json").write_text(json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")
        if self.returns is not None:
            self.returns.save(out)


def load_truth(world_dir: str | Path, *, mmap: bool = True) -> Truth:
    """Read the private truth of a world directory (simulator only)."""
    path = Path(world_dir) / TRUTH_DIR
    if not (path / "users.parquet").is_file():
        raise WorldError(
            f"no simulator truth at {path}; generate a world first: `botify world generate --out {world_dir}`"
        )
    mode: Literal["r"] | None = "r" if mmap else None
    users = pq.read_table(path / "users.parquet")
    interests_column = users.column("interests").combine_chunks()
    n_interests = interests_column.type.list_size
    interests = interests_column.flatten().to_numpy().astype(np.int32).reshape(-1, n_interests)
    return Truth(
        embeddings=np.load(path / "embeddings.npy", mmap_mode=mode),
        interests=interests,
        interest_nearest=np.load(path / "interest_nearest.npy", mmap_mode=mode),
        interest_neighbours=users.column("interest_neighbours").to_numpy().astype(np.int32),
        consume_bias=users.column("consume_bias").to_numpy().astype(np.float64),
        consume_sharpness=users.column("consume_sharpness").to_numpy().astype(np.float64),
        session_budget=users.column("session_budget").to_numpy().astype(np.int32),
        artist_discount_gamma=users.column("artist_discount_gamma").to_numpy().astype(np.float64),
        manifest=json.loads((path / "manifest.json").read_text()),
        returns=load_returns(path, len(interests)),
    )


def nearest_by_inner_product(
    embeddings: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int, chunk: int = 1024,
    threads: int | None = None,
) -> npt.NDArray[np.int32]:
    """Exact top-``k`` tracks by inner product for each query row, nearest first (ties by lower id).

    The k-th best score among the first ``sample`` columns bounds the true k-th best from below, so only the
    few columns above that bound need sorting. Chunks of ``chunk`` rows go to ``threads`` threads (default: the
    cores), each with one-threaded BLAS: the selection after each product is single-threaded numpy, so two
    chunks at once keep both cores busy where one chunk with two-threaded BLAS leaves one idle most of the time.
    """
    from threadpoolctl import threadpool_limits

    threads = max(1, threads or len(os.sched_getaffinity(0)))
    out = np.empty((queries.shape[0], k), dtype=np.int32)
    starts = list(range(0, queries.shape[0], chunk))
    one_thread_blas = threadpool_limits(1) if threads > 1 else nullcontext()  # threads=1: BLAS as configured
    with one_thread_blas, ThreadPoolExecutor(threads, thread_name_prefix="botify-nearest") as pool:
        for done in [pool.submit(_nearest_chunks, embeddings, queries, k, chunk, starts[i::threads], out)
                     for i in range(min(threads, len(starts)))]:
            done.result()
    return out


def _nearest_chunks(embeddings: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int, chunk: int,
                    starts: list[int], out: npt.NDArray[np.int32]) -> None:
    """Fill the rows of ``out`` of the chunks beginning at ``starts`` (see ``nearest_by_inner_product``)."""
    n = embeddings.shape[0]
    sample = min(n, max(8 * k, 4096))
    # One score and one mask buffer for every chunk: a fresh 200 MB array per chunk cost its page faults each time.
    scores_buffer = np.empty((min(chunk, queries.shape[0]), n), dtype=np.result_type(queries, embeddings))
    above_buffer = np.empty(scores_buffer.shape, dtype=np.bool_)
    for start in starts:
        block = queries[start : start + chunk]
        scores = np.matmul(block, embeddings.T, out=scores_buffer[: len(block)])
        bound = np.partition(scores[:, :sample], sample - k, axis=1)[:, sample - k]
        rows, cols = np.nonzero(np.greater_equal(scores, bound[:, None], out=above_buffer[: len(block)]))
        order = np.lexsort((cols, -scores[rows, cols], rows))
        rows, cols = rows[order], cols[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        keep = rank < k
        out[start + rows[keep], rank[keep]] = cols[keep]
