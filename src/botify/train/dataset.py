"""Logs → training data: interactions with their sessions, and the per-user time split.

Reads logs with the analysis's reader (``botify.logs.columnar``: every replica, rotated files, malformed lines
reported, retried requests once) and its sessionizer, so training and analysis see the same events in the same
order: a user's lines by the service's counters when the log has them (whole sessions, whichever replica
answered), by timestamp otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError
from botify.logs.columnar import read_events_columnar
from botify.logs.reader import LogReadReport
from botify.logs.sessions import session_ids

__all__ = ["POSITIVE_TIME", "Interactions", "latest_rows", "load_interactions", "time_split"]

POSITIVE_TIME = 0.8
"""A track counts as liked when its listened time exceeds this (the reference threshold)."""


@dataclass(frozen=True)
class Interactions:
    """One row per played track (each log line), sorted by user, then in the order the service answered them.

    ``position`` is the track's index in its session (0 = the session's first track, picked by the user).
    """

    user: npt.NDArray[np.int64]
    track: npt.NDArray[np.int64]
    time: npt.NDArray[np.float64]
    timestamp: npt.NDArray[np.int64]
    session: npt.NDArray[np.int64]
    position: npt.NDArray[np.int64]
    n_tracks: int

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def take(self, rows: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> Interactions:
        """The subset of the given rows (mask or indices)."""
        return Interactions(self.user[rows], self.track[rows], self.time[rows], self.timestamp[rows],
                            self.session[rows], self.position[rows], self.n_tracks)

    def positives(self, threshold: float = POSITIVE_TIME) -> Interactions:
        """Rows whose listened time exceeds ``threshold``."""
        return self.take(self.time > threshold)

    def window(self) -> dict[str, int]:
        """The data window, for manifests."""
        if not len(self):
            return {"interactions": 0}
        return {"interactions": len(self), "users": int(len(np.unique(self.user))),
                "sessions": int(len(np.unique(self.session))),
                "first_timestamp": int(self.timestamp.min()), "last_timestamp": int(self.timestamp.max())}


def load_interactions(paths: Iterable[str | Path], n_tracks: int, *,
                      cache_dir: str | Path | None = None) -> tuple[Interactions, LogReadReport]:
    """Read logs into interactions; tracks outside ``0..n_tracks-1`` are reported as malformed.

    Logs are read through their cached Parquet copies (``botify.logs.columnar``: the same lines and reports as the
    plain reader, a few times faster; ``cache_dir`` as there).
    """
    events, report = read_events_columnar(paths, cache_dir=cache_dir)
    if len(events) == 0:
        raise ConfigError(f"no usable log lines ({report.describe()})")
    outside = (events.track < 0) | (events.track >= n_tracks)
    if outside.any():
        report.malformed += int(outside.sum())
        report.samples.append(f"{int(outside.sum())} line(s) name tracks outside the catalog 0..{n_tracks - 1}")
    order, session = session_ids(events, by_arm=False)
    keep = ~outside[order]
    order, session = order[keep], session[keep]
    first = np.r_[True, session[1:] != session[:-1]]
    start_index = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    return Interactions(
        user=events.user[order], track=events.track[order], time=events.time[order],
        timestamp=events.timestamp[order], session=session, position=np.arange(len(order)) - start_index,
        n_tracks=n_tracks,
    ), report


def time_split(data: Interactions, fraction: float) -> tuple[Interactions, Interactions]:
    """Per user, the last ``fraction`` of interactions (in service order) go to the second part.

    Users with a single interaction stay entirely in the first part. ``data`` keeps each user's rows in the order
    the service answered them (as ``load_interactions`` returns them).
    """
    later = latest_rows(data, fraction)
    return data.take(~later), data.take(later)


def latest_rows(data: Interactions, fraction: float) -> npt.NDArray[np.bool_]:
    """Mask of each user's last ``fraction`` of rows (rounded down), in the order of ``data``."""
    if not 0 < fraction < 1:
        raise ConfigError(f"`fraction` must be in (0, 1), got {fraction}")
    order = np.argsort(data.user, kind="stable")
    user = data.user[order]
    first = np.r_[True, user[1:] != user[:-1]] if len(user) else np.zeros(0, np.bool_)
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(user)), 0))
    rank = np.arange(len(user)) - group_start
    sizes = np.diff(np.r_[np.flatnonzero(first), len(user)])
    size = np.repeat(sizes, sizes)
    held = np.floor(size * fraction).astype(np.int64)
    later = np.zeros(len(user), dtype=np.bool_)
    later[order] = rank >= size - held
    return later
