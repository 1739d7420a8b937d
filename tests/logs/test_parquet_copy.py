"""Every line of a log gets the plain reader's verdict in its Parquet copy, however odd the line."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pytest

from botify.logs.columnar import read_events_columnar
from botify.logs.parquet_copy import LogLines, write_copy
from botify.logs.reader import parse_line, read_events
from botify.service.eventlog import event_line
from botify.state import Counters

GOOD = event_line("next", 1795000000001, 7, 2, 0.5, 0.001, 3, {"E": "T1"}, Counters(0, 1, 1795000000000), "r-1",
                  0.25)
LAST = event_line("last", 1795000000002, 7, 2, 0.83, 0.0003, None, {"E": "C", "F": "T2"})
COURSE = json.dumps({"message": "next", "timestamp": 1, "user": 2, "track": 3, "time": 1.0, "latency": 0.5,
                     "recommendation": 4, "experiments": {"E": "C"}}).encode()  # ", " and ": " separators

ODD_LINES = [
    GOOD, LAST, COURSE, b"", b"   \t", b"\x0b", GOOD + b"\r", b"\xef\xbb\xbf" + GOOD, b"\xff" + GOOD,
    GOOD.replace(b'"time":0.5', b'"time":NaN'), GOOD.replace(b'"time":0.5', b'"time":-Infinity'),
    GOOD.replace(b'"time":0.5', b'"time":1e400'), GOOD.replace(b'"time":0.5', b'"time":inf'),
    GOOD.replace(b'"time":0.5', b'"time":1'), GOOD.replace(b'"time":0.5', b'"time":"0.5"'),
    GOOD.replace(b'"propensity":0.25', b'"propensity":NaN'), GOOD.replace(b'"propensity":0.25', b'"propensity":"x"'),
    GOOD.replace(b'"propensity":0.25', b'"propensity":[1,2,]'), GOOD.replace(b"}", b",}"),
    GOOD.replace(b'"T1"}', b'"T1",}'), GOOD.replace(b"}", b" , }"), GOOD.replace(b"}", b',"x":1e999}'),
    GOOD.replace(b"}", b',"x":{"y":nan}}'), GOOD.replace(b'"user":7', b'"user":7,"user":8'),
    GOOD.replace(b'"user":7', b'"user":7,"user":7'), GOOD.replace(b'"E":"T1"', b'"E":"T1","E":"C"'),
    GOOD.replace(b'"E":"T1"', b'"E":"T1","G":1'), GOOD.replace(b'"E":"T1"', b'"E":NaN'),
    GOOD.replace(b'"E":"T1"', b'"E":null'), GOOD.replace(b'"E":"T1"', b'"E":"T0"'),
    GOOD.replace(b'"E":"T1"', b'"E":"T01"'), GOOD.replace(b'"E":"T1"', b'"E":"X"'),
    GOOD.replace(b'"E":"T1"', "\"E\":\"T\u0661\"".encode()), GOOD.replace(b'"E":"T1"', b'"E":"T1","H,I":"C"'),
    GOOD.replace(b'"E":"T1"', b'"\\u0045":"T1"'), GOOD.replace(b'"next"', b'"\\u006eext"'),
    GOOD.replace(b'"r-1"', b'"r\\"-1"'), GOOD.replace(b'"r-1"', b'"r,1"'), GOOD.replace(b'"r-1"', b"7"),
    GOOD.replace(b'"r-1"', b"null"), GOOD.replace(b'"user":7', b'"user":18446744073709551615'),
    GOOD.replace(b'"user":7', b'"user":99999999999999999999'), GOOD.replace(b'"user":7', b'"user":-0'),
    GOOD.replace(b'"user":7', b'"user":7.0'), GOOD.replace(b'"user":7', b'"user":true'),
    GOOD.replace(b'"user":7', b'"user":null'), GOOD.replace(b',"recommendation":3', b""),
    GOOD.replace(b'"recommendation":3', b'"recommendation":null'), GOOD.replace(b'"step":1', b'"step":-1'),
    GOOD.replace(b'"step":1', b'"step":null'), GOOD.replace(b'"step":1', b'"step":1.5'),
    GOOD.replace(b'{"E":"T1"}', b"{}"), GOOD.replace(b'{"E":"T1"}', b"[]"), GOOD.replace(b'{"E":"T1"}', b'"E"'),
    GOOD.replace(b'"next"', b'"skip"'), GOOD.replace(b'"next"', b"5"), GOOD.replace(b'"message"', b'"mess"'),
    b"[1, 2]", b"5", b'"text"', b"null", b"{}", GOOD[:40], GOOD + b" x", GOOD + GOOD,
    b'{"message":"next","message":"last"' + GOOD[17:],
]


def mutations(count: int, seed: int) -> list[bytes]:
    """Good lines with one random byte edit each, from the characters JSON dialects disagree about."""
    rng = random.Random(seed)
    alphabet = [b",", b"}", b"]", b'"', b" ", b"N", b"I", b"n", b"1", b".", b"-", b"e", b"\\", b"{", b":", b"0"]
    lines = []
    for _ in range(count):
        line = bytearray(rng.choice([GOOD, LAST, COURSE]))
        at = rng.randrange(len(line))
        edit = rng.choice(["insert", "replace", "delete"])
        if edit == "delete":
            del line[at]
        else:
            line[at:at + (edit == "replace")] = rng.choice(alphabet)
        lines.append(bytes(line))
    return lines


def verdicts(path: Path) -> dict[int, tuple[str | None, dict[str, object] | None]]:
    """The plain reader's verdict on every non-blank line: (problem, record)."""
    judged = {}
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                record, problem = parse_line(line)
                judged[number] = (problem, record)
    return judged


def copy_rows(path: Path, tmp_path: Path) -> tuple[dict[int, dict[str, object]], int]:
    connection = duckdb.connect()
    asked = write_copy(LogLines.read(path), tmp_path / "copy.parquet", connection)
    rows = connection.execute(f"SELECT * FROM read_parquet('{tmp_path / 'copy.parquet'}')").fetchall()
    names = [d[0] for d in connection.description]
    return {int(row[0]): dict(zip(names, row, strict=True)) for row in rows}, asked


@pytest.mark.parametrize("lines", [ODD_LINES, mutations(600, seed=3)], ids=["odd", "mutated"])
def test_each_line_of_the_copy_has_the_plain_readers_verdict_and_values(tmp_path: Path, lines: list[bytes]) -> None:
    log = tmp_path / "data.json"
    log.write_bytes(b"\n".join(lines))  # the last line has no newline
    expected = verdicts(log)
    rows, _ = copy_rows(log, tmp_path)
    assert sorted(rows) == sorted(expected)
    for number, (problem, record) in expected.items():
        row = rows[number]
        assert row["problem"] == problem, (number, lines[number - 1])
        if record is not None:
            assert (row["timestamp"], row["user"], row["time"], row["request_id"]) == (
                record["timestamp"], record["user"], record["time"], record.get("request_id")), number
            assert row["recommendation"] == (-1 if record["recommendation"] is None else record["recommendation"])
            assert row["step"] == (-1 if record.get("step") is None else record["step"])
            propensity = record.get("propensity")
            assert row["propensity"] == propensity or (propensity is None and math.isnan(row["propensity"])), number
            assert orjson.loads(str(row["experiments"])) == record["experiments"], number


@pytest.mark.parametrize("experiment", [None, "E", "F"])
def test_odd_lines_read_the_same_through_the_copy(tmp_path: Path, experiment: str | None) -> None:
    for index, chunk in enumerate((ODD_LINES[:30], ODD_LINES[30:], mutations(300, seed=4))):
        (tmp_path / "logs" / f"r{index}").mkdir(parents=True)
        (tmp_path / "logs" / f"r{index}" / "data.json").write_bytes(b"\n".join(chunk) + b"\n")
    plain, plain_report = read_events([tmp_path / "logs"], experiment)
    fast, fast_report = read_events_columnar([tmp_path / "logs"], experiment, cache_dir=tmp_path / "cache")
    for name in ("user", "track", "arm", "timestamp", "time", "latency", "recommendation", "is_last", "session",
                 "step", "epoch"):
        assert np.array_equal(getattr(plain, name), getattr(fast, name)), name
    assert (fast_report.lines, fast_report.malformed, fast_report.outside_experiment, fast_report.duplicates) == (
        plain_report.lines, plain_report.malformed, plain_report.outside_experiment, plain_report.duplicates)
    assert fast_report.samples == plain_report.samples


def test_ordinary_lines_never_reach_the_plain_reader(tmp_path: Path) -> None:
    log = tmp_path / "data.json"
    log.write_bytes(b"\n".join([GOOD, LAST, COURSE] * 50) + b"\n")
    rows, asked = copy_rows(log, tmp_path)
    assert len(rows) == 150 and asked == 0
