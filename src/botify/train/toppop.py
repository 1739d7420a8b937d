"""TopPop from the logs: play counts per track."""

from __future__ import annotations

from typing import Any

import numpy as np

from botify.train.base import IntArray, OfflineModel
from botify.train.dataset import Interactions

__all__ = ["TopPopModel"]


class TopPopModel(OfflineModel):
    """Every user gets the most played tracks (ties by lower id)."""

    name = "toppop"

    def _fit(self, data: Interactions) -> None:
        self.play_counts = np.bincount(data.track, minlength=self.catalog.n_tracks).astype(np.float64)
        self.ranking = np.lexsort((np.arange(self.catalog.n_tracks), -self.play_counts)).astype(np.int64)

    def _recommend(self, users: IntArray, k: int) -> IntArray:
        return np.tile(self.ranking[:k], (len(users), 1))

    def _params(self) -> dict[str, Any]:
        return {}
