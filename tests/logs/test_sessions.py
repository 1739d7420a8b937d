"""Sessionizing: each user's lines in service order — by the counters when every line has them, else by time."""

from __future__ import annotations

import numpy as np

from botify.logs.reader import EventColumns
from botify.logs.sessions import sessionize


def events(rows: list[tuple[int, int, bool, int, int, int]]) -> EventColumns:
    """rows: (user, timestamp, is_last, session, step, epoch); -1 = no counter; ``time`` = the row's index."""
    user, stamp, last, session, step, epoch = (np.array(column) for column in zip(*rows, strict=True))
    n = len(rows)
    return EventColumns(user=user.astype(np.int64), track=np.zeros(n, np.int64), arm=np.zeros(n, np.int64),
                        timestamp=stamp.astype(np.int64), time=np.arange(n, dtype=np.float64),
                        latency=np.zeros(n), recommendation=np.zeros(n, np.int64), is_last=last.astype(np.bool_),
                        session=session.astype(np.int64), step=step.astype(np.int64), epoch=epoch.astype(np.int64))


class TestSessionize:
    def test_counters_order_lines_that_share_a_millisecond(self) -> None:
        # User 1: two sessions, all in one millisecond, read in the wrong order (two replicas' files).
        got = sessionize(events([
            (1, 50, False, 1, 0, 9), (1, 50, True, 0, 2, 9), (1, 50, False, 0, 0, 9),
            (1, 50, True, 1, 1, 9), (1, 50, False, 0, 1, 9),
        ]))
        assert got.unfinished == 0 and got.tracks.tolist() == [3, 2]
        assert got.time.tolist() == [2 + 1 + 4, 0 + 3]  # rows {2, 4, 1} then {0, 3}

    def test_a_later_epoch_comes_after_whatever_its_counters_say(self) -> None:
        # The counters restarted (a service restart, or Redis lost its keys): session 0 again, in a later epoch.
        got = sessionize(events([(1, 90, False, 0, 0, 20), (1, 91, True, 0, 1, 20),
                                 (1, 10, False, 3, 0, 10), (1, 11, True, 3, 1, 10)]))
        assert got.end.tolist() == [11, 91]

    def test_a_user_with_any_inexact_line_is_ordered_by_time(self) -> None:
        # User 2 has a line served without exact counters (Redis was down): all of user 2's lines go by time.
        got = sessionize(events([
            (2, 30, True, 0, 1, -1), (2, 10, False, 5, 0, 9), (2, 20, True, 0, 0, 9),
            (3, 7, True, 0, 1, 9), (3, 8, False, 0, 0, 9),
        ]))
        assert got.user.tolist() == [2, 2, 3] and got.tracks.tolist() == [2, 1, 2] and got.unfinished == 0

    def test_old_logs_without_counters_go_by_time(self) -> None:
        got = sessionize(events([(1, 2, True, -1, -1, -1), (1, 1, False, -1, -1, -1), (1, 3, False, -1, -1, -1)]))
        assert got.tracks.tolist() == [2] and got.unfinished == 1

    def test_a_user_whose_counters_repeat_is_ordered_by_time(self) -> None:
        # A Redis replica promoted after its master died lacked the master's last write, the end of user 4's
        # session 0: the next request got (0, 2) again. By the counters, it ties with the `last` line and may
        # come first (another replica's file was read first), which moves a track into the wrong session.
        got = sessionize(events([
            (4, 40, False, 0, 2, 9), (4, 50, True, 0, 3, 9),                            # replica B's file
            (4, 10, False, 0, 0, 9), (4, 20, False, 0, 1, 9), (4, 30, True, 0, 2, 9),  # replica A's file
            (5, 50, True, 0, 1, 9), (5, 10, False, 0, 0, 9),   # user 5 is untouched: still by its counters
        ]))
        assert got.user.tolist() == [4, 4, 5] and got.tracks.tolist() == [3, 2, 2] and got.unfinished == 0
        assert got.end.tolist() == [30, 50, 50]
