"""The course's TopPop: a random one of the top tracks, Random when there are none.

The course built it two ways over the years, ``TopPop(tracks_redis, top_tracks)`` and
``TopPop(top_tracks, fallback)``; both are accepted. ``TopPop.load_from_json(path)`` reads ``top_tracks.json``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from botify.course.recommenders.random import Random
from botify.course.recommenders.recommender import Recommender

__all__ = ["TopPop"]


class TopPop(Recommender):
    """A random track among ``top_tracks``."""

    def __init__(self, first: Any, second: Any) -> None:
        if isinstance(first, list):  # TopPop(top_tracks, fallback)
            self.top_tracks, self.fallback = first, second
        else:  # TopPop(tracks_redis, top_tracks)
            self.top_tracks, self.fallback = list(second), Random(first)

    @staticmethod
    def load_from_json(path: str | Path) -> list[int]:
        """The list in a ``top_tracks.json``."""
        with open(path) as handle:
            tracks: list[int] = json.load(handle)
        return tracks

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        """One of the top tracks, at random."""
        if self.top_tracks:
            shuffled = list(self.top_tracks)
            random.shuffle(shuffled)
            return int(shuffled[0])
        return int(self.fallback.recommend_next(user, prev_track, prev_track_time))
