"""Recommenders over precomputed lists: Indexed (per user) and Contextual (per previous track).

Both take a random track from the list, as the reference does, and fall back to a uniformly random track
when the user (or track) has no list. The lists come from validated artifacts (``botify.artifacts``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import override

from botify.artifacts import Artifact, rows_of
from botify.errors import ConfigError
from botify.recommenders.base import IntArray, Recommender, Requests
from botify.world.catalog import Catalog

__all__ = ["ContextualRecommender", "IndexedRecommender"]

_FALLBACK_STREAM = 1


def _row_lengths(lists: npt.NDArray[np.int32]) -> IntArray:
    """Valid prefix length of each ``-1``-padded row."""
    valid = lists >= 0
    lengths: IntArray = np.where(valid.all(axis=1), lists.shape[1], np.argmin(valid, axis=1)).astype(np.int64)
    return lengths


class _ListRecommender(Recommender):
    kind: str
    lengths: IntArray

    def __init__(self, catalog: Catalog, *, artifact: Artifact, random_state: int | None = None) -> None:
        super().__init__(catalog, random_state=random_state)
        if artifact.kind != self.kind:
            raise ConfigError(f"{self.name} needs an artifact of kind {self.kind!r}, got {artifact.ref} "
                              f"of kind {artifact.kind!r}")
        self.artifact = artifact

    @override
    def parameters(self) -> dict[str, Any]:
        return {"artifact": self.artifact.ref}

    def _probability(self, lists: npt.NDArray[np.int32], rows: IntArray, lengths: IntArray,
                     tracks: IntArray) -> npt.NDArray[np.float64]:
        """Share of each row's list that is the track (a uniform pick); ``1 / n_tracks`` where Random answers."""
        has_list = rows >= 0
        length = np.where(has_list, lengths[np.maximum(rows, 0)], 0)
        entries = np.asarray(lists[np.maximum(rows, 0)])
        inside = np.arange(entries.shape[1])[None, :] < length[:, None]
        hits = ((entries == tracks[:, None]) & inside).sum(axis=1)
        return np.where(length > 0, hits / np.maximum(length, 1), 1.0 / self.catalog.n_tracks)

    def _probability_one(self, lists: npt.NDArray[np.int32], row: int | None, chosen: int) -> float:
        """``_probability`` for one row (``None``: no list), in plain Python for the service's path."""
        length = 0 if row is None else int(self.lengths[row])
        if length == 0:
            return 1.0 / self.catalog.n_tracks
        return int(np.count_nonzero(np.asarray(lists[row, :length]) == chosen)) / length

    def _pick(self, lists: npt.NDArray[np.int32], rows: IntArray, lengths: IntArray, requests: Requests) -> IntArray:
        """A random entry of each row; Random where the row is missing (``rows < 0``) or empty."""
        has_list = rows >= 0
        length = np.where(has_list, lengths[np.maximum(rows, 0)], 0)
        usable = length > 0
        picks = self.draw(np.maximum(length, 1), requests)
        out = self.draw(self.catalog.n_tracks, requests, _FALLBACK_STREAM)
        out[usable] = lists[rows[usable], picks[usable]]
        return out


class IndexedRecommender(_ListRecommender):
    """A random track of the user's precomputed list (e.g. DSSM's top-100); Random for unknown users."""

    name = "indexed"
    kind = "indexed"

    def __init__(self, catalog: Catalog, *, artifact: Artifact, random_state: int | None = None) -> None:
        super().__init__(catalog, artifact=artifact, random_state=random_state)
        self.users = np.asarray(artifact.arrays["users"])
        self.items = artifact.arrays["items"]
        self.lengths = _row_lengths(np.asarray(self.items))
        self._row_of = {int(u): i for i, u in enumerate(self.users.tolist())}

    def list_of(self, user: int) -> npt.NDArray[np.int32]:
        """The user's list, nearest first (empty for unknown users)."""
        row = self._row_of.get(user)
        if row is None:
            return np.zeros(0, dtype=np.int32)
        return np.asarray(self.items[row, : self.lengths[row]])

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        return self._pick(self.items, rows_of(self.users, requests.user), self.lengths, requests)

    @override
    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64]:
        return self._probability(self.items, rows_of(self.users, requests.user), self.lengths, tracks)

    @override
    def probability_one(self, user: int, track: int, time: float, session: int, step: int, chosen: int) -> float:
        return self._probability_one(self.items, self._row_of.get(user), chosen)

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        row = self._row_of.get(user)
        if row is None or self.lengths[row] == 0:
            return self.draw_one(self.catalog.n_tracks, user, session, step, _FALLBACK_STREAM)
        return int(self.items[row, self.draw_one(int(self.lengths[row]), user, session, step)])


class ContextualRecommender(_ListRecommender):
    """A random track of the previous track's precomputed list; Random when it has none."""

    name = "contextual"
    kind = "item_lists"

    def __init__(self, catalog: Catalog, *, artifact: Artifact, random_state: int | None = None) -> None:
        super().__init__(catalog, artifact=artifact, random_state=random_state)
        self.lists = artifact.arrays["lists"]
        self.lengths = _row_lengths(np.asarray(self.lists))

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        return self._pick(self.lists, requests.track, self.lengths, requests)

    @override
    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64]:
        return self._probability(self.lists, requests.track, self.lengths, tracks)

    @override
    def probability_one(self, user: int, track: int, time: float, session: int, step: int, chosen: int) -> float:
        return self._probability_one(self.lists, track, chosen)

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        length = int(self.lengths[track])
        if length == 0:
            return self.draw_one(self.catalog.n_tracks, user, session, step, _FALLBACK_STREAM)
        return int(self.lists[track, self.draw_one(length, user, session, step)])
