"""The course's Random: a random key of the tracks' Redis (``RANDOMKEY``), i.e. a uniform track."""

from __future__ import annotations

from typing import Any

from botify.course.recommenders.recommender import Recommender

__all__ = ["Random"]


class Random(Recommender):
    """A uniformly random track."""

    def __init__(self, tracks_redis: Any) -> None:
        self.tracks_redis = tracks_redis

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        """Any track."""
        return int(self.tracks_redis.randomkey())
