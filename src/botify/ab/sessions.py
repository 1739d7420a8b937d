"""Cut log lines into sessions (SPEC section 5).

Per (user, arm), lines sorted by timestamp (reading order breaks ties) are cut after each ``last`` line; a
session's ``tracks`` is its line count, ``time`` the sum of ``time`` and ``latency`` the sum of latencies in
ms. Lines after a user's final ``last`` form an unfinished session, which is counted and left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.ab.logs import EventColumns

__all__ = ["Sessions", "sessionize"]


@dataclass(frozen=True)
class Sessions:
    """One row per finished session."""

    user: npt.NDArray[np.int64]
    arm: npt.NDArray[np.int64]
    tracks: npt.NDArray[np.int64]
    time: npt.NDArray[np.float64]
    latency_ms: npt.NDArray[np.float64]
    unfinished: int

    def __len__(self) -> int:
        return int(self.user.shape[0])


def sessionize(events: EventColumns) -> Sessions:
    """Group lines into sessions."""
    n = len(events.user)
    order = np.lexsort((np.arange(n), events.timestamp, events.user, events.arm))
    user, arm, is_last = events.user[order], events.arm[order], events.is_last[order]
    new_group = np.r_[True, (user[1:] != user[:-1]) | (arm[1:] != arm[:-1])] if n else np.zeros(0, np.bool_)
    # A session starts at a group start or right after a "last" line.
    starts = new_group | np.r_[False, is_last[:-1]] if n else new_group
    session_id = np.cumsum(starts) - 1
    count = int(session_id[-1]) + 1 if n else 0
    finished = np.zeros(count, dtype=np.bool_)
    finished[session_id[is_last]] = True
    tracks = np.bincount(session_id, minlength=count)
    time = np.bincount(session_id, weights=events.time[order], minlength=count)
    latency = np.bincount(session_id, weights=events.latency[order], minlength=count) * 1000.0
    first_line = np.flatnonzero(starts)
    return Sessions(
        user=user[first_line][finished], arm=arm[first_line][finished], tracks=tracks[finished].astype(np.int64),
        time=time[finished].astype(np.float64), latency_ms=latency[finished].astype(np.float64),
        unfinished=int((~finished).sum()),
    )
