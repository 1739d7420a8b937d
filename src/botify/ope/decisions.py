"""A logged day's ``next`` decisions, read from the service's logs, each with the reward the next line reports.

The lines are read by the project's one log reader and put in the order the service answered them (by the
counters ``(epoch, session, step)``, as the A/B analysis orders them), so a replica restart's new epoch never
interleaves two sessions that share a session number. Within one session, line ``t``'s recommendation is rewarded
by line ``t + 1``'s listened time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError
from botify.logs import read_events, session_ids
from botify.recommenders.base import Requests

__all__ = ["Decisions", "read_decisions"]


@dataclass(frozen=True)
class Decisions:
    """The logged ``next`` decisions in session order, with each recommendation's reward (the next line's time).

    ``session`` numbers the decisions' sessions 0, 1, … in that order; ``propensity`` is the logging policy's
    probability of the logged ``action`` (NaN where the log has none).
    """

    requests: Requests
    action: npt.NDArray[np.int64]
    propensity: npt.NDArray[np.float64]
    reward: npt.NDArray[np.float64]
    session: npt.NDArray[np.int64]


def read_decisions(paths: str | Path | Iterable[str | Path]) -> Decisions:
    """Decisions from a service's logs (files or directories): every finished session's ``next`` lines."""
    events, report = read_events([paths] if isinstance(paths, str | Path) else paths)
    if report.malformed:
        raise ConfigError(f"the logged day has malformed lines, which would bias every estimate: {report.describe()}")
    if not events.exact().all():
        raise ConfigError("off-policy evaluation needs the service's counters (session, step, epoch) on every line: "
                          "a log of the course's service, or of workers without a shared store, cannot be replayed")
    order, session = session_ids(events, by_arm=False)
    is_next = ~events.is_last[order]
    answered = np.r_[session[1:] == session[:-1], False]
    if (is_next & ~answered).any():
        raise ConfigError("a `next` line without the line that answers it (an unfinished session) in the log")
    rows = order[is_next]
    following = order[np.flatnonzero(is_next) + 1]
    requests = Requests(events.user[rows], events.track[rows], events.time[rows], events.session[rows],
                        events.step[rows])
    dense_session = np.unique(session[is_next], return_inverse=True)[1].astype(np.int64)
    return Decisions(requests, events.recommendation[rows], events.propensity[rows], events.time[following],
                     dense_session)
