"""The course's ``Track`` and ``Catalog``: tracks pickled into a Redis, artists to their tracks, lists by key.

As in the course, ``Catalog.to_bytes``/``from_bytes`` are ``pickle.dumps``/``loads``; ``upload_tracks`` writes
every track under its id, ``upload_artists`` every artist's name with its track ids, and
``upload_recommendations`` lists under their keys (a course file read by ``botify.course.files``).
``top_tracks`` is the list ``TopPop`` serves.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botify.course.store import CourseRedis

__all__ = ["Catalog", "Track"]


@dataclass
class Track:
    """One track as the course's service stores it (its fields, then the lab's public ones)."""

    track: int
    artist: str
    title: str
    recommendations: list[int] = field(default_factory=list)
    genre: str = ""
    popularity: float = 0.0
    artist_id: int = -1


class Catalog:
    """The course's catalog object: the tracks, the top tracks, and the pickling the recommenders use."""

    def __init__(self, tracks: list[Track], top_tracks: list[int] | None = None) -> None:
        self.tracks = tracks
        self.top_tracks = list(top_tracks or [])

    @staticmethod
    def to_bytes(instance: Any) -> bytes:
        """``pickle.dumps``, as the course."""
        return pickle.dumps(instance)

    @staticmethod
    def from_bytes(data: bytes) -> Any:
        """``pickle.loads``, as the course."""
        return pickle.loads(data)  # noqa: S301  (the lab's own uploads, as in the course)

    def upload_tracks(self, redis: CourseRedis) -> None:
        """Every track, pickled, under its id."""
        redis.load((track.track, self.to_bytes(track)) for track in self.tracks)

    def upload_artists(self, redis: CourseRedis) -> None:
        """Every artist's name with the ids of its tracks, pickled."""
        by_artist: dict[str, list[int]] = {}
        for track in self.tracks:
            by_artist.setdefault(track.artist, []).append(track.track)
        redis.load((artist, self.to_bytes(tracks)) for artist, tracks in sorted(by_artist.items()))

    def upload_recommendations(self, redis: CourseRedis, lists: Mapping[int, list[int]]) -> None:
        """Lists, pickled, under their keys (a user's or a track's: ``botify.course.files`` reads the files)."""
        redis.load((key, self.to_bytes(list(values))) for key, values in lists.items())

    def with_recommendations(self, lists: Mapping[int, Iterable[int]]) -> Catalog:
        """A copy whose tracks carry ``lists[track]`` as their ``recommendations`` (the per-track files)."""
        tracks = [Track(t.track, t.artist, t.title, list(lists.get(t.track, [])), t.genre, t.popularity, t.artist_id)
                  for t in self.tracks]
        return Catalog(tracks, self.top_tracks)
