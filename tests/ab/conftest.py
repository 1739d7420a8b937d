"""Shared A/B fixtures: a small hand-made multi-replica log."""

from __future__ import annotations

from pathlib import Path

import pytest

from botify.service.eventlog import event_line


def write(path: Path, rows: list[tuple[str, int, int, float, float, str]]) -> None:
    """rows: (message, timestamp, user, time, latency_s, arm)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        for message, stamp, user, time, latency, arm in rows:
            recommendation = None if message == "last" else 1
            handle.write(event_line(message, stamp, user, 1, time, latency, recommendation, {"EXP": arm}) + b"\n")


@pytest.fixture()
def logs(tmp_path: Path) -> Path:
    # Control users 1, 2; treatment users 3, 4. Two replicas, one rotated file.
    write(tmp_path / "r1" / "data.json.1", [
        ("next", 1, 1, 1.0, 0.001, "C"), ("next", 2, 1, 0.5, 0.001, "C"), ("last", 3, 1, 0.5, 0.001, "C"),
    ])
    write(tmp_path / "r1" / "data.json", [
        ("next", 10, 1, 1.0, 0.002, "C"), ("last", 11, 1, 0.0, 0.002, "C"),          # user 1: times 2.0, 1.0
        ("next", 5, 3, 1.0, 0.003, "T1"), ("last", 6, 3, 0.6, 0.003, "T1"),          # user 3: time 1.6
    ])
    write(tmp_path / "r2" / "data.json", [
        ("next", 4, 2, 1.0, 0.001, "C"), ("last", 9, 2, 0.25, 0.001, "C"),          # user 2: time 1.25
        ("next", 1, 4, 1.0, 0.001, "T1"), ("next", 2, 4, 0.8, 0.001, "T1"),
        ("last", 3, 4, 0.7, 0.001, "T1"),                                           # user 4: time 2.5
        ("next", 20, 4, 1.0, 0.001, "T1"), ("last", 21, 4, 0.5, 0.001, "T1"),       # user 4: time 1.5
        ("next", 30, 4, 1.0, 0.001, "T1"),                                          # unfinished
    ])
    with (tmp_path / "r2" / "data.json").open("ab") as handle:
        handle.write(b'{"message": "next", "timestamp": 1\n')
        handle.write(b'{"message": "skip", "timestamp": 1, "user": 1, "track": 1, "time": 1, "latency": 0, '
                     b'"recommendation": null, "experiments": {}}\n')
        handle.write(event_line("next", 40, 9, 1, 1.0, 0.0, 1, {"OTHER": "C"}) + b"\n")
    return tmp_path
