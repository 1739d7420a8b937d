"""User-level metrics from sessions (SPEC section 5).

Per (user, arm): ``sessions``, ``time`` (summed session time), ``tracks``, ``latency`` (ms); then
``mean_request_latency = latency / tracks``, ``mean_tracks_per_session = tracks / sessions`` and
``mean_time_per_session = time / sessions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.metric_plan import DIRECTIONS

__all__ = ["REPORT_METRICS", "UserMetrics", "user_metrics"]

# The table's metrics, in its order: the ones whose direction and unit ``metric_plan`` knows.
REPORT_METRICS = tuple(DIRECTIONS)


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


def _groups(arm: npt.NDArray[np.int64], user: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64],
                                                                              npt.NDArray[np.int64]]:
    """Distinct (arm, user) pairs sorted (2 x groups) and each row's group; one int64 key when ids fit."""
    if len(user) and (int(user.max()) - int(user.min()) + 1) * (int(arm.max()) - int(arm.min()) + 1) < 2**62:
        span = int(user.max()) - int(user.min()) + 1
        key = (arm - arm.min()) * span + (user - user.min())
        if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):  # sessions come sorted by arm and user
            starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
            inverse = np.cumsum(np.r_[0, (np.diff(key) != 0).astype(np.int64)])
        else:
            _, starts, inverse = np.unique(key, return_index=True, return_inverse=True)
        return np.stack([arm[starts], user[starts]]), inverse.reshape(-1).astype(np.int64)
    unique, inverse = np.unique(np.stack([arm, user]), axis=1, return_inverse=True)
    return unique, inverse.reshape(-1)


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
    unique, inverse = _groups(arm, user)
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
