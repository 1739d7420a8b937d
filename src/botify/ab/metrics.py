"""User-level metrics from sessions (SPEC section 5).

Per (user, arm): ``sessions``, ``time`` (summed session time), ``tracks``, ``latency`` (ms); then
``mean_request_latency = latency / tracks``, ``mean_tracks_per_session = tracks / sessions`` and
``mean_time_per_session = time / sessions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["REPORT_METRICS", "UserMetrics", "user_metrics"]

REPORT_METRICS = ("time", "sessions", "mean_request_latency", "mean_tracks_per_session", "mean_time_per_session")


@dataclass(frozen=True)
class UserMetrics:
    """One row per (user, arm)."""

    user: npt.NDArray[np.int64]
    arm: npt.NDArray[np.int64]
    sessions: npt.NDArray[np.float64]
    time: npt.NDArray[np.float64]
    tracks: npt.NDArray[np.float64]
    latency: npt.NDArray[np.float64]

    @property
    def mean_request_latency(self) -> npt.NDArray[np.float64]:
        """Latency per request, ms."""
        return self.latency / self.tracks

    @property
    def mean_tracks_per_session(self) -> npt.NDArray[np.float64]:
        """Tracks per session."""
        return self.tracks / self.sessions

    @property
    def mean_time_per_session(self) -> npt.NDArray[np.float64]:
        """Listened time per session (the headline metric)."""
        return self.time / self.sessions

    def metric(self, name: str) -> npt.NDArray[np.float64]:
        """A metric column by name."""
        value: npt.NDArray[np.float64] = getattr(self, name)
        return value


def user_metrics(
    user: npt.ArrayLike,
    arm: npt.ArrayLike,
    time: npt.ArrayLike,
    tracks: npt.ArrayLike,
    latency_ms: npt.ArrayLike | None = None,
) -> UserMetrics:
    """Aggregate session-level arrays (one row per session) to (user, arm) rows, sorted by arm then user."""
    user = np.asarray(user, dtype=np.int64)
    arm = np.asarray(arm, dtype=np.int64)
    latency = np.zeros(len(user)) if latency_ms is None else np.asarray(latency_ms, dtype=np.float64)
    keys = np.stack([arm, user])
    unique, inverse = np.unique(keys, axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    groups = unique.shape[1]

    def total(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        sums = np.bincount(inverse, weights=np.asarray(values, np.float64), minlength=groups)
        return sums.astype(np.float64)

    return UserMetrics(
        user=unique[1],
        arm=unique[0],
        sessions=total(np.ones(len(user))),
        time=total(time),
        tracks=total(tracks),
        latency=total(latency),
    )
