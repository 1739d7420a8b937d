"""Our own recommender: DSSM re-ranked around what this session has shown, against artist fatigue.

The first track of a session is the user's own choice and reveals which of their tastes the session is about;
a user-level list cannot know that. Per session this recommender keeps the played tracks and their listened
times, and at every step picks, among

* the user's DSSM list (top-100, nearest to the user) and
* the 100 tracks nearest to the session's first track in DSSM's item space (once per session: a lookup in the
  artifact's ``item_neighbours``, or computed from the item vectors if the artifact has none),

the unplayed track with the highest

    cos(item, anchor) − artist_penalty · (tracks of its artist already in the session)

where ``anchor`` = Σ listened time × item vector over the session's tracks (the first one counts 1.0), so
liked tracks pull the session towards them and skipped ones do not. The penalty spreads the session over
artists, since every repeat of an artist is listened to less (``γ^c`` in the user model). Deterministic: no
randomness. Uses only the DSSM artifact (trained from logs and the public catalog) and its own session state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from typing_extensions import override

from botify.artifacts import Artifact, rows_of
from botify.errors import ConfigError
from botify.recommenders.base import StatefulRecommender
from botify.state import StateStore
from botify.world.catalog import Catalog

__all__ = ["SessionMemory", "SessionRecommender"]


@dataclass
class SessionMemory:
    """What the session recommender remembers about one session."""

    session: int
    candidates: list[int] = field(default_factory=list)
    played: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def encode(self) -> bytes:
        """Compact JSON (never pickle)."""
        return orjson.dumps([self.session, self.candidates, self.played, self.times])

    @classmethod
    def decode(cls, raw: bytes) -> SessionMemory:
        """Inverse of ``encode``."""
        session, candidates, played, times = orjson.loads(raw)
        return cls(session, candidates, played, times)


class SessionRecommender(StatefulRecommender):
    """DSSM candidates re-ranked by the session's listened tracks, with a penalty per artist repeat."""

    name = "session"

    def __init__(self, catalog: Catalog, *, dssm: Artifact, neighbours: int = 100, artist_penalty: float = 0.1,
                 store: StateStore | None = None, random_state: int | None = None) -> None:
        super().__init__(catalog, store=store, random_state=random_state)
        if "item_vectors" not in dssm.arrays:
            raise ConfigError(f"artifact {dssm.ref} has no item vectors: retrain it with `botify train dssm`")
        if neighbours < 1 or artist_penalty < 0:
            raise ConfigError(f"`neighbours` must be >= 1 and `artist_penalty` >= 0, got {neighbours}, "
                              f"{artist_penalty}")
        self.dssm, self.neighbours, self.artist_penalty = dssm, neighbours, artist_penalty
        self._users = np.asarray(dssm.arrays["users"])
        self._lists = np.asarray(dssm.arrays["items"])
        self._vectors: npt.NDArray[np.float32] = np.ascontiguousarray(dssm.arrays["item_vectors"])
        exported = dssm.arrays.get("item_neighbours")
        self._neighbours = exported if exported is not None and exported.shape[1] >= neighbours else None
        self._artist_of = catalog.artist_id.astype(np.int64)
        self._n_artists = catalog.n_artists

    @override
    def parameters(self) -> dict[str, Any]:
        return {"dssm": self.dssm.ref, "neighbours": self.neighbours, "artist_penalty": self.artist_penalty}

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        raw = self.store.get_state(user)
        memory = SessionMemory.decode(raw) if raw is not None else None
        if memory is None or memory.session != session:
            memory = SessionMemory(session, candidates=self._candidates(user, track))
        memory.played.append(track)
        memory.times.append(time)
        choice = self._best(memory)
        self.store.put_state(user, memory.encode())
        return choice

    def _candidates(self, user: int, first: int) -> list[int]:
        """The user's DSSM list and the first track's nearest neighbours in item space (once per session)."""
        if self._neighbours is not None:  # exported with the artifact: a lookup
            nearest = self._neighbours[first, : self.neighbours]
            nearest = nearest[nearest >= 0]
        else:
            scores = np.einsum("ij,j->i", self._vectors, self._vectors[first])  # not BLAS: no thread pool
            scores[first] = -np.inf
            nearest = np.argpartition(-scores, self.neighbours)[: self.neighbours]
        row = int(rows_of(self._users, np.array([user], dtype=np.int64))[0])
        own = self._lists[row][self._lists[row] >= 0] if row >= 0 else np.zeros(0, np.int64)
        merged: list[int] = np.unique(np.concatenate([nearest, own]).astype(np.int64)).tolist()
        return merged

    def _best(self, memory: SessionMemory) -> int:
        candidates = np.array(memory.candidates, dtype=np.int64)
        played = np.array(memory.played, dtype=np.int64)
        # The played tracks are few: one comparison per (candidate, played) beats numpy's sorting set operations.
        unplayed = (candidates[:, None] != played).all(axis=1)
        if not unplayed.any():  # every candidate played: the nearest unplayed track to the first one
            scores = np.einsum("ij,j->i", self._vectors, self._vectors[played[0]])
            scores[played] = -np.inf
            return int(np.argmax(scores))
        candidates = candidates[unplayed]
        anchor = np.asarray(memory.times, dtype=np.float32) @ self._vectors[played]
        norm = float(np.sqrt(anchor.dot(anchor))) or 1.0  # np.linalg.norm's own formula, without its overhead
        repeats = np.bincount(self._artist_of[played], minlength=self._n_artists)[self._artist_of[candidates]]
        scores = np.einsum("ij,j->i", self._vectors[candidates], anchor) / norm - self.artist_penalty * repeats
        return int(candidates[int(np.argmax(scores))])
