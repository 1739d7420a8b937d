"""Logs → what the user model is fitted on: sessions, and every recommended track with its listened time.

Logs are read with the analysis's reader and sessionizer (``botify.ab``: every replica and rotated file, malformed
lines reported, retried requests once; a user's lines ordered by the service's counters, by timestamp for the
course's logs). A session's first line carries the track the user picked (time 1.0); each later line the track
the service recommended and its listened time. For each recommended track the fit needs what the user model
conditions on: how many tracks of its artist the session already played (``c`` in ``γ^c``) and whether the track
was already played (a repeat, listened 0 whatever the taste).
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
from botify.world.catalog import Catalog

__all__ = ["FitData", "read_fit_data"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FitData:
    """Sessions (one row each) and their recommended tracks (one row each), from logs and the public catalog.

    Attributes
    ----------
    session_user, session_first, session_length : each session's user, the track it started with and its number
        of recommended tracks.
    session_finished : the session has its ``last`` line (its end is known: the budget's likelihood needs it).
    session_index : each session's index among its user's sessions (0 = the user's first in the logs).
    row_session, row_track, row_time, row_step : each recommended track's session, id, listened time and position
        (1 = the first recommendation).
    row_artist_count : tracks of the same artist already played in the session (``c``).
    row_repeat : the track was already played in the session.
    """

    session_user: IntArray
    session_first: IntArray
    session_length: IntArray
    session_finished: npt.NDArray[np.bool_]
    session_index: IntArray
    row_session: IntArray
    row_track: IntArray
    row_time: npt.NDArray[np.float64]
    row_step: IntArray
    row_artist_count: IntArray
    row_repeat: npt.NDArray[np.bool_]
    n_tracks: int
    report: LogReadReport

    @property
    def n_sessions(self) -> int:
        """Number of sessions."""
        return int(self.session_user.shape[0])

    @property
    def n_users(self) -> int:
        """Users of the fitted world: every id up to the largest logged one."""
        return int(self.session_user.max()) + 1

    def summary(self) -> dict[str, int]:
        """Sizes, for the manifest and the terminal."""
        return {"sessions": self.n_sessions, "recommendations": int(len(self.row_track)),
                "users_logged": int(len(np.unique(self.session_user))),
                "tracks_logged": int(len(np.unique(np.r_[self.row_track, self.session_first]))),
                "unfinished_sessions": int((~self.session_finished).sum())}


def read_fit_data(paths: Iterable[str | Path], catalog: Catalog, *, cache_dir: str | Path | None = None) -> FitData:
    """Read logs into ``FitData``; raise ``ConfigError`` when nothing can be fitted or the catalog does not match.

    The catalog must be the one the logs were served from: a track id outside it stops the fit (it names the
    first such line's track and the catalog's size) rather than being dropped.
    """
    events, report = read_events_columnar(paths, cache_dir=cache_dir)
    if len(events) == 0:
        raise ConfigError(f"no usable log lines to fit a world from ({report.describe()})")
    if not (~events.is_last).any():
        raise ConfigError(f"the logs have no `next` lines, so no recommended track to fit on ({report.describe()})")
    named = np.r_[events.track, events.recommendation[~events.is_last]]
    outside = (named < 0) | (named >= catalog.n_tracks)
    if outside.any():
        raise ConfigError(
            f"the logs name track {int(named[outside][0])}, outside the catalog's 0..{catalog.n_tracks - 1} "
            f"({int(outside.sum()):,} such ids): fit with the catalog the logs were served from (`--catalog`)")
    if events.user.min() < 0:
        raise ConfigError(f"the logs name user {int(events.user.min())}: user ids must be >= 0")
    order, session = session_ids(events, by_arm=False)
    user, track, time = events.user[order], events.track[order], events.time[order]
    is_last = events.is_last[order]
    first = np.r_[True, session[1:] != session[:-1]]
    start = np.flatnonzero(first)
    position = np.arange(len(order)) - np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    count = len(start)
    finished = np.zeros(count, dtype=np.bool_)
    finished[session[is_last]] = True
    rows = position > 0
    row_session, row_track = session[rows], track[rows]
    artist = catalog.artist_id.astype(np.int64)[track]
    return FitData(
        session_user=user[start], session_first=track[start],
        session_length=np.bincount(session, minlength=count).astype(np.int64) - 1, session_finished=finished,
        session_index=_rank_within(user[start]), row_session=row_session, row_track=row_track,
        row_time=time[rows].astype(np.float64), row_step=position[rows],
        row_artist_count=_earlier_equal(session, artist)[rows], row_repeat=_earlier_equal(session, track)[rows] > 0,
        n_tracks=catalog.n_tracks, report=report,
    )


def _earlier_equal(session: IntArray, value: IntArray) -> IntArray:
    """For each line: how many earlier lines of its session carry the same ``value`` (lines in session order)."""
    order = np.lexsort((np.arange(len(value)), value, session))
    key_session, key_value = session[order], value[order]
    new_group = np.r_[True, (key_session[1:] != key_session[:-1]) | (key_value[1:] != key_value[:-1])]
    rank = np.arange(len(order)) - np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    out = np.empty(len(order), dtype=np.int64)
    out[order] = rank
    return out


def _rank_within(user: IntArray) -> IntArray:
    """Each session's index among its user's sessions, in the order given."""
    return _earlier_equal(np.zeros_like(user), user)
