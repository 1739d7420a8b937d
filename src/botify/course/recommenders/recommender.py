"""The course's recommender interface: one method, the next track for a user after a track and its time."""

from __future__ import annotations

__all__ = ["Recommender"]


class Recommender:
    """Subclasses answer ``recommend_next(user, prev_track, prev_track_time)`` with a track id."""

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        """The next track."""
        raise NotImplementedError()
