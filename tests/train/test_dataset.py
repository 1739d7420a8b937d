"""Logs → interactions: sessions, positions, the per-user time split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.errors import ConfigError
from botify.service.eventlog import event_line
from botify.state import Counters
from botify.train.dataset import load_interactions, time_split


def write(path: Path, rows: list[tuple[str, int, int, int, float]]) -> None:
    with path.open("wb") as handle:
        for message, stamp, user, track, time in rows:
            handle.write(event_line(message, stamp, user, track, time, 0.0, None if message == "last" else 0,
                                    {"E": "C"}) + b"\n")
        handle.write(b"not json\n")


class TestInteractions:
    def test_sessions_and_positions(self, tmp_path: Path) -> None:
        write(tmp_path / "data.json", [
            ("next", 1, 7, 10, 1.0), ("next", 2, 7, 11, 0.9), ("last", 3, 7, 12, 0.2),
            ("next", 4, 7, 20, 1.0), ("last", 5, 7, 21, 0.85), ("next", 1, 8, 30, 1.0), ("last", 2, 8, 99, 0.5),
        ])
        data, report = load_interactions([tmp_path], n_tracks=50)
        assert report.malformed == 2  # the garbage line and the track outside the catalog
        assert data.track.tolist() == [10, 11, 12, 20, 21, 30]
        assert data.position.tolist() == [0, 1, 2, 0, 1, 0]
        assert len(np.unique(data.session)) == 3
        assert data.positives().track.tolist() == [10, 11, 20, 21, 30]

    def test_time_split_holds_out_each_users_latest(self, tmp_path: Path) -> None:
        write(tmp_path / "data.json", [("next", t, 1, t, 1.0) for t in range(10)] + [("next", 5, 2, 40, 1.0)])
        data, _ = load_interactions([tmp_path], n_tracks=50)
        early, late = time_split(data, 0.2)
        assert late.track.tolist() == [8, 9]
        assert sorted(early.track.tolist()) == [*range(8), 40]

    def test_sessions_across_replicas_follow_the_service_counters(self, tmp_path: Path) -> None:
        # One user's requests alternate between two replicas, all within one millisecond: only the counters
        # (session, step) tell their order. Replica B's file is read first.
        lines = {"a": [("next", 0, 0, 10), ("next", 0, 2, 12), ("last", 0, 3, 13), ("next", 1, 1, 21)],
                 "b": [("next", 0, 1, 11), ("next", 1, 0, 20), ("last", 1, 2, 22)]}
        for replica, rows in lines.items():
            with (tmp_path / f"{'1' if replica == 'b' else '2'}-{replica}.json").open("wb") as handle:
                for message, session, step, track in rows:
                    handle.write(event_line(message, 1000, 7, track, 1.0, 0.0, None if message == "last" else 0,
                                            {"E": "C"}, Counters(session, step, 5)) + b"\n")
        data, _ = load_interactions([tmp_path], n_tracks=50)
        assert data.track.tolist() == [10, 11, 12, 13, 20, 21, 22]
        assert data.position.tolist() == [0, 1, 2, 3, 0, 1, 2]
        early, late = time_split(data, 0.3)
        assert late.track.tolist() == [21, 22]  # the user's latest, by the service's order

    def test_empty_logs_are_an_error(self, tmp_path: Path) -> None:
        (tmp_path / "data.json").write_text("junk\n")
        with pytest.raises(ConfigError, match="no usable log lines"):
            load_interactions([tmp_path], n_tracks=5)
