"""The report's recommender (SPEC section 1): DSSM in order, then an artist/contextual fallback.

Per session it keeps: the position in the user's DSSM list, the played tracks, the count of tracks per artist,
whether DSSM was dropped, and where the last recommendation came from.

* Main source: the user's DSSM list **in order**, nearest first, skipping tracks already played.
* When a DSSM recommendation was listened to less than ``T``, DSSM is dropped for the rest of the session.
* Fallback (after the drop, or when the list is exhausted or the user unknown): with probability ``P`` a
  not-yet-played track of the session's most-listened artist, otherwise the Contextual recommendation for the
  last track (a random pick of its list; Random if it has none).

Choices where the report is silent (alternatives as parameters where cheap):

* "Most-listened artist" counts tracks met in the session, the first track included; ties go to the artist
  with the larger summed listened time (the report's "listened to most"), so a skipped track does not outrank
  the user's own first track. If that artist has no unplayed track left, the Contextual branch is used.
* After the drop, every step uses the fallback (``fallback_only_below_t=False``); with ``True`` the fallback is
  used only after a track below ``T`` and the other steps take the Contextual recommendation.
* State is keyed by the user's session number: a new session starts clean even if ``/last`` never came.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from typing_extensions import override

from botify.artifacts import Artifact
from botify.errors import ConfigError
from botify.recommenders.base import StatefulRecommender
from botify.recommenders.lists import ContextualRecommender, IndexedRecommender
from botify.state import StateStore
from botify.world.catalog import Catalog

__all__ = ["CustomRecommender", "SessionMemory"]

_CHOICE_STREAM, _ARTIST_STREAM = 11, 12


@dataclass
class SessionMemory:
    """What the custom recommender remembers about one session."""

    session: int
    position: int = 0
    dropped: bool = False
    last_from_dssm: bool = False
    played: list[int] = field(default_factory=list)
    artists: dict[int, int] = field(default_factory=dict)
    listened: dict[int, float] = field(default_factory=dict)

    def encode(self) -> bytes:
        """Compact JSON (never pickle)."""
        return orjson.dumps([self.session, self.position, self.dropped, self.last_from_dssm, self.played,
                             list(self.artists.items()), list(self.listened.items())])

    @classmethod
    def decode(cls, raw: bytes) -> SessionMemory:
        """Inverse of ``encode``."""
        session, position, dropped, last_from_dssm, played, artists, listened = orjson.loads(raw)
        return cls(session, position, dropped, last_from_dssm, played, dict(map(tuple, artists)),
                   dict(map(tuple, listened)))


class CustomRecommender(StatefulRecommender):
    """The report's recommender (see the module docstring)."""

    name = "custom"

    def __init__(self, catalog: Catalog, *, dssm: Artifact, contextual: Artifact, threshold: float = 0.1,
                 probability: float = 0.3, fallback_only_below_t: bool = False, store: StateStore | None = None,
                 random_state: int | None = None) -> None:
        super().__init__(catalog, store=store, random_state=random_state)
        if not 0 <= threshold <= 1 or not 0 <= probability <= 1:
            raise ConfigError(f"`threshold` and `probability` must be in [0, 1], got {threshold}, {probability}")
        self.threshold, self.probability = threshold, probability
        self.fallback_only_below_t = fallback_only_below_t
        self.dssm = IndexedRecommender(catalog, artifact=dssm, random_state=self.random_state)
        self.contextual = ContextualRecommender(catalog, artifact=contextual, random_state=self.random_state)
        self._artist_of: list[int] = catalog.artist_id.tolist()
        order, offsets = catalog.tracks_by_artist()
        self._artist_tracks: list[int] = order.tolist()
        self._artist_offsets: list[int] = offsets.tolist()

    @override
    def parameters(self) -> dict[str, Any]:
        return {"dssm": self.dssm.artifact.ref, "contextual": self.contextual.artifact.ref,
                "threshold": self.threshold, "probability": self.probability,
                "fallback_only_below_t": self.fallback_only_below_t}

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        raw = self.store.get_state(user)
        memory = SessionMemory.decode(raw) if raw is not None else None
        if memory is None or memory.session != session:
            memory = SessionMemory(session)
        artist = self._artist_of[track]
        memory.played.append(track)
        memory.artists[artist] = memory.artists.get(artist, 0) + 1
        memory.listened[artist] = memory.listened.get(artist, 0.0) + time
        below = time < self.threshold
        if memory.last_from_dssm and below:
            memory.dropped = True
        choice = None
        if not memory.dropped:
            choice = self._next_from_dssm(user, memory)
        memory.last_from_dssm = choice is not None
        if choice is None:
            if self.fallback_only_below_t and not below:
                choice = self.contextual.recommend(user, track, time, session, step)
            else:
                choice = self._fallback(user, track, time, session, step, memory)
        self.store.put_state(user, memory.encode())
        return choice

    def _next_from_dssm(self, user: int, memory: SessionMemory) -> int | None:
        ranked = self.dssm.list_of(user)
        played = set(memory.played)
        while memory.position < len(ranked):
            candidate = int(ranked[memory.position])
            memory.position += 1
            if candidate not in played:
                return candidate
        return None

    def _fallback(self, user: int, track: int, time: float, session: int, step: int, memory: SessionMemory) -> int:
        if self._draw_uniform(user, session, step, _CHOICE_STREAM) < self.probability:
            favourite = max(memory.artists, key=lambda a: (memory.artists[a], memory.listened[a]))
            start, end = self._artist_offsets[favourite], self._artist_offsets[favourite + 1]
            played = set(memory.played)
            unplayed = [t for t in self._artist_tracks[start:end] if t not in played]
            if unplayed:
                return unplayed[self.draw_one(len(unplayed), user, session, step, _ARTIST_STREAM)]
        return self.contextual.recommend(user, track, time, session, step)

    def _draw_uniform(self, user: int, session: int, step: int, stream: int) -> float:
        return self.draw_one(1 << 30, user, session, step, stream) / (1 << 30)
