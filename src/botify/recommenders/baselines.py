"""Reference baselines: Random, TopPop and StickyArtist (SPEC section 3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import override

from botify.artifacts import Artifact
from botify.errors import ConfigError
from botify.recommenders.base import IntArray, Recommender, Requests
from botify.world.catalog import Catalog

__all__ = ["RandomRecommender", "StickyArtistRecommender", "TopPopRecommender"]


class RandomRecommender(Recommender):
    """A track uniform over the whole catalog."""

    name = "random"

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        return self.draw(self.catalog.n_tracks, requests)

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        return self.draw_one(self.catalog.n_tracks, user, session, step)

    @override
    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64]:
        return np.full(len(tracks), 1.0 / self.catalog.n_tracks)

    @override
    def probability_one(self, user: int, track: int, time: float, session: int, step: int, chosen: int) -> float:
        return 1.0 / self.catalog.n_tracks


class TopPopRecommender(Recommender):
    """A track uniform among the ``k`` most popular ones.

    Popularity comes from a ``popularity`` artifact (play counts from the logs), an explicit ``popularity``
    array, or, by default, the catalog's public popularity column.
    """

    name = "toppop"

    def __init__(
        self,
        catalog: Catalog,
        *,
        k: int = 100,
        popularity: npt.NDArray[np.floating[Any]] | None = None,
        artifact: Artifact | None = None,
        random_state: int | None = None,
    ) -> None:
        super().__init__(catalog, random_state=random_state)
        self.artifact = artifact
        if artifact is not None:
            if artifact.kind != "popularity":
                raise ConfigError(f"toppop needs a 'popularity' artifact, got {artifact.ref} of kind {artifact.kind!r}")
            popularity = np.asarray(artifact.arrays["popularity"])
        if not isinstance(k, int) or not 1 <= k <= catalog.n_tracks:
            raise ConfigError(f"`k` must be an integer in [1, {catalog.n_tracks}], got {k!r}")
        scores = catalog.popularity if popularity is None else np.asarray(popularity)
        if scores.shape != (catalog.n_tracks,):
            raise ConfigError(f"`popularity` must have one value per track ({catalog.n_tracks}), got {scores.shape}")
        self.k = k
        self.top = np.lexsort((np.arange(catalog.n_tracks), -scores))[:k].astype(np.int64)
        self._top_list: list[int] = self.top.tolist()
        self._top_set = frozenset(self._top_list)

    @override
    def parameters(self) -> dict[str, Any]:
        return {"k": self.k, **({"artifact": self.artifact.ref} if self.artifact else {})}

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        tracks: IntArray = self.top[self.draw(self.k, requests)]
        return tracks

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        return self._top_list[self.draw_one(self.k, user, session, step)]

    @override
    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64]:
        return np.where(np.isin(tracks, self.top), 1.0 / self.k, 0.0)

    @override
    def probability_one(self, user: int, track: int, time: float, session: int, step: int, chosen: int) -> float:
        return 1.0 / self.k if chosen in self._top_set else 0.0


class StickyArtistRecommender(Recommender):
    """A random track of the previous track's artist (may repeat tracks, as in the reference)."""

    name = "sticky_artist"

    def __init__(self, catalog: Catalog, *, random_state: int | None = None) -> None:
        super().__init__(catalog, random_state=random_state)
        self.order, self.offsets = catalog.tracks_by_artist()
        self.artist_of = catalog.artist_id.astype(np.int64)
        self._order_list: list[int] = self.order.tolist()
        self._offsets_list: list[int] = self.offsets.tolist()
        self._artist_list: list[int] = self.artist_of.tolist()

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        artist = self.artist_of[requests.track]
        start = self.offsets[artist]
        size = self.offsets[artist + 1] - start
        tracks: IntArray = self.order[start + self.draw(size, requests)]
        return tracks

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        artist = self._artist_list[track]
        start = self._offsets_list[artist]
        size = self._offsets_list[artist + 1] - start
        return self._order_list[start + self.draw_one(size, user, session, step)]

    @override
    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64]:
        artist = self.artist_of[requests.track]
        size = self.offsets[artist + 1] - self.offsets[artist]
        return np.where(self.artist_of[tracks] == artist, 1.0 / size, 0.0)

    @override
    def probability_one(self, user: int, track: int, time: float, session: int, step: int, chosen: int) -> float:
        artist = self._artist_list[track]
        if self._artist_list[chosen] != artist:
            return 0.0
        return 1.0 / (self._offsets_list[artist + 1] - self._offsets_list[artist])
