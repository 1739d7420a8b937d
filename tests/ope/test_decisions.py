"""Decisions read from a service's log: rewarded by the next line, in the order the service answered."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from botify.errors import ConfigError
from botify.ope import read_decisions


def line(message: str, user: int, session: int, step: int, track: int, time: float, recommendation: int | None,
         propensity: float | None = None, epoch: int = 0) -> bytes:
    record = {"message": message, "timestamp": 0, "user": user, "track": track, "time": time, "latency": 0.0,
              "recommendation": recommendation, "experiments": {}, "session": session, "step": step, "epoch": epoch}
    if propensity is not None:
        record["propensity"] = propensity
    return orjson.dumps(record)


def test_each_recommendation_is_rewarded_by_the_line_that_follows_it(tmp_path: Path) -> None:
    lines = [line("next", 3, 0, 0, 10, 1.0, 11, 0.5), line("next", 3, 0, 1, 11, 0.7, 12, 0.25),
             line("last", 3, 0, 2, 12, 0.2, None),
             line("next", 1, 4, 0, 20, 1.0, 21, 0.1), line("last", 1, 4, 1, 21, 0.9, None)]
    path = tmp_path / "data.json"
    path.write_bytes(b"\n".join(reversed(lines)) + b"\n")  # the reader orders lines itself
    decisions = read_decisions(path)
    assert decisions.action.tolist() == [21, 11, 12]  # user 1 first, then user 3 in step order
    assert decisions.reward.tolist() == [0.9, 0.7, 0.2]
    assert decisions.propensity.tolist() == [0.1, 0.5, 0.25]
    assert decisions.session.tolist() == [0, 1, 1]
    assert decisions.requests.track.tolist() == [20, 10, 11]


def test_a_restart_starts_new_counters_and_its_sessions_are_not_mixed_with_the_old_ones(tmp_path: Path) -> None:
    # the service restarted between two sessions of user 5: both are session 0, told apart by their epoch
    before = [line("next", 5, 0, 0, 10, 1.0, 11, 0.5, epoch=100), line("next", 5, 0, 1, 11, 0.6, 12, 0.5, epoch=100),
              line("last", 5, 0, 2, 12, 0.3, None, epoch=100)]
    after = [line("next", 5, 0, 0, 30, 1.0, 31, 0.5, epoch=200), line("last", 5, 0, 1, 31, 0.8, None, epoch=200)]
    shuffled = before + after
    random.Random(1).shuffle(shuffled)
    (tmp_path / "data.json").write_bytes(b"\n".join(shuffled) + b"\n")
    decisions = read_decisions(tmp_path)
    assert decisions.action.tolist() == [11, 12, 31]
    assert decisions.reward.tolist() == [0.6, 0.3, 0.8]  # (session, step) alone would reward 11 by line 31's 1.0
    assert decisions.session.tolist() == [0, 0, 1]


@pytest.mark.parametrize(("lines", "message"), [
    ([line("next", 1, 0, 0, 2, 1.0, 3, 0.5)], "unfinished session"),
    ([b'{"message": "next"}', line("next", 1, 0, 0, 2, 1.0, 3, 0.5), line("last", 1, 0, 1, 3, 0.5, None)],
     "malformed lines"),
    ([line("next", 1, 0, 0, 2, 1.0, 3, 0.5).replace(b'"epoch":0', b'"epoch":null'),
      line("last", 1, 0, 1, 3, 0.5, None)], "needs the service's counters"),
])
def test_a_log_that_cannot_be_replayed_is_refused_with_its_reason(tmp_path: Path, lines: list[bytes],
                                                                   message: str) -> None:
    (tmp_path / "data.json").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ConfigError, match=message):
        read_decisions(tmp_path / "data.json")
