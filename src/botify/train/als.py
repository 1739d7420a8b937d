"""ALS (implicit feedback matrix factorisation) via the ``implicit`` library: the LightFM/ALS-style baseline.

The user × track matrix holds the summed listened time of each (user, track); ``implicit`` treats it as
confidence. Top-``k`` per user by ``user_factors · item_factors`` with faiss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from botify.train.base import IntArray, OfflineModel
from botify.train.dataset import Interactions
from botify.train.neighbours import indexed_arrays, top_k_for_users
from botify.world.catalog import Catalog

__all__ = ["ALS"]


class ALS(OfflineModel):
    """Implicit ALS on summed listened time.

    Parameters
    ----------
    catalog : the public catalog (only its size is used).
    factors : latent dimensions of users and tracks (default 64).
    regularization : L2 penalty on the factors (default 0.05).
    alpha : ``implicit``'s weight of the observed entries: the summed listened time is scaled by it (default 10).
    iterations : alternating least-squares sweeps (default 15).
    threads : ``implicit``'s threads (default 2).
    random_state : seed of the factors' initialisation (default 0).
    """

    name = "als"

    def __init__(self, catalog: Catalog, *, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, threads: int = 2, random_state: int = 0) -> None:
        super().__init__(catalog, random_state=random_state)
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.threads = iterations, threads

    def _params(self) -> dict[str, Any]:
        return {"factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
                "iterations": self.iterations, "threads": self.threads}

    def _fit(self, data: Interactions) -> None:
        self.users_, rows = np.unique(data.user, return_inverse=True)
        matrix = sp.csr_matrix((data.time, (rows.reshape(-1), data.track)),
                               shape=(len(self.users_), self.catalog.n_tracks), dtype=np.float32)
        matrix.sum_duplicates()
        with threadpool_limits(1, "blas"):  # implicit warns (and slows down) with a threaded BLAS
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                            alpha=self.alpha, iterations=self.iterations,
                                            random_state=self.random_state, num_threads=self.threads)
            model.fit(matrix, show_progress=False)  # the library draws nothing: progress is the caller's
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def _recommend(self, users: IntArray, k: int) -> IntArray:
        return top_k_for_users(self.users_, self.user_factors, self.item_factors, users, k, threads=self.threads)

    def export(self, k: int = 100) -> dict[str, npt.NDArray[Any]]:
        """Arrays of an ``indexed`` artifact: every known user's top-``k``, nearest first."""
        return indexed_arrays(self.users_, self.user_factors, self.item_factors, k, threads=self.threads)
