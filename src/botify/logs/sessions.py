"""Cut log lines into sessions, as the reference notebook does, in an order that does not depend on clocks.

Per (user, arm), lines are sorted and cut after each ``last`` line; a session's ``tracks`` is its line count,
``time`` the sum of ``time``, ``latency`` the sum of latencies in ms and ``end`` its last line's timestamp.
Lines after a user's final ``last`` form an unfinished session, which is counted and left out.

The order: when every line of a user carries the service's exact counters, by ``(epoch, session, step)`` —
the order in which the service answered them, whichever replica did and whatever its clock said (two replicas
logging one user's consecutive requests within the same millisecond cannot be told apart by timestamp). Else
(logs of the course's service, or counters that were not exact) by timestamp, as the reference notebook does.
Reading order breaks ties either way. A user whose counters repeat — a Redis replica promoted after its master
died may lack the master's last writes and hand out a step again — is ordered by timestamp too: counters that
repeat no longer say which line came first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.logs.reader import EventColumns

__all__ = ["Sessions", "service_order", "session_ids", "sessionize"]


@dataclass(frozen=True)
class Sessions:
    """One row per finished session."""

    user: npt.NDArray[np.int64]
    arm: npt.NDArray[np.int64]
    tracks: npt.NDArray[np.int64]
    time: npt.NDArray[np.float64]
    latency_ms: npt.NDArray[np.float64]
    end: npt.NDArray[np.int64]
    unfinished: int

    def __len__(self) -> int:
        return int(self.user.shape[0])


def session_ids(events: EventColumns, *, by_arm: bool = True) -> tuple[npt.NDArray[np.int64],
                                                                         npt.NDArray[np.int64]]:
    """Return ``(order, session_id)``: lines sorted per (arm,) user in service order, and each sorted line's session.

    Reading order breaks ties; a session starts at a user's first line or right after a ``last``.
    """
    n = len(events.user)
    arm = events.arm if by_arm else np.zeros(n, dtype=np.int64)
    key = service_order(events)
    order = _stable_order(arm, events.user, key)
    repeated = _repeated_counters(events, key, order)
    if repeated is not None:
        key = service_order(events, inexact_users=repeated)
        order = _stable_order(arm, events.user, key)
    user, arm_sorted, is_last = events.user[order], arm[order], events.is_last[order]
    if n == 0:
        return order, np.zeros(0, dtype=np.int64)
    new_group = np.r_[True, (user[1:] != user[:-1]) | (arm_sorted[1:] != arm_sorted[:-1])]
    starts = new_group | np.r_[False, is_last[:-1]]
    return order, np.cumsum(starts) - 1


def service_order(events: EventColumns, *,
                  inexact_users: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.int64]:
    """A key that orders each user's lines (only ever compared within one user).

    Packed ``(epoch, session, step)`` for users whose every line has exact counters, the timestamp for the others
    and for ``inexact_users``.
    """
    exact = events.exact()
    if inexact_users is not None:
        exact &= ~np.isin(events.user, inexact_users)
    if not exact.any():
        return events.timestamp
    if not exact.all():
        _, user_index = np.unique(events.user, return_inverse=True)
        has_inexact_line = np.bincount(user_index, weights=~exact) > 0
        exact = ~has_inexact_line[user_index]
        if not exact.any():
            return events.timestamp
    epoch, session, step = events.epoch[exact], events.session[exact], events.step[exact]
    steps, sessions = int(step.max()) + 1, int(session.max()) + 1
    epoch = epoch - epoch.min()
    if (int(epoch.max()) + 1) * sessions * steps >= 2**62:
        epoch = np.unique(epoch, return_inverse=True)[1].astype(np.int64)  # only the epochs' order matters
    packed = (epoch * sessions + session) * steps + step
    if exact.all():
        return packed
    key = events.timestamp.copy()
    key[exact] = packed
    return key


def _repeated_counters(events: EventColumns, key: npt.NDArray[np.int64],
                       order: npt.NDArray[np.int64]) -> npt.NDArray[np.int64] | None:
    """Users two of whose exact lines carry the same counters (adjacent once sorted), or ``None``."""
    if len(order) < 2:
        return None
    user, sorted_key = events.user[order], key[order]
    exact = events.exact()[order]
    same = (user[1:] == user[:-1]) & (sorted_key[1:] == sorted_key[:-1]) & exact[1:] & exact[:-1]
    if not same.any():
        return None
    return np.unique(user[1:][same])


def _stable_order(arm: npt.NDArray[np.int64], user: npt.NDArray[np.int64],
                  stamp: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Stable order by (arm, user, timestamp): one int64 key sorted by radix sort when the ranges fit, else lexsort."""
    if len(arm) == 0:
        return np.zeros(0, dtype=np.int64)
    arm_span, user_span, stamp_span = (int(a.max()) - int(a.min()) + 1 for a in (arm, user, stamp))
    if arm_span * user_span * stamp_span < 2**62:
        key = ((arm - arm.min()) * user_span + (user - user.min())) * stamp_span + (stamp - stamp.min())
        return np.argsort(key, kind="stable")
    return np.lexsort((stamp, user, arm))  # lexsort is stable too: reading order breaks ties either way


def sessionize(events: EventColumns) -> Sessions:
    """Group lines into sessions per (user, arm)."""
    order, session_id = session_ids(events)
    n = len(order)
    is_last = events.is_last[order]
    count = int(session_id[-1]) + 1 if n else 0
    finished = np.zeros(count, dtype=np.bool_)
    finished[session_id[is_last]] = True
    tracks = np.bincount(session_id, minlength=count)
    time = np.bincount(session_id, weights=events.time[order], minlength=count)
    latency = np.bincount(session_id, weights=events.latency[order], minlength=count) * 1000.0
    first_line = np.r_[0, np.flatnonzero(np.diff(session_id)) + 1] if n else np.zeros(0, np.int64)
    user, arm = events.user[order], events.arm[order]
    last_line = np.r_[first_line[1:] - 1, n - 1] if n else np.zeros(0, np.int64)
    end = events.timestamp[order][last_line]
    return Sessions(
        user=user[first_line][finished], arm=arm[first_line][finished], tracks=tracks[finished].astype(np.int64),
        time=time[finished].astype(np.float64), latency_ms=latency[finished].astype(np.float64),
        end=end[finished].astype(np.int64),
        unfinished=int((~finished).sum()),
    )
