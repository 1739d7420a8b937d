"""The DuckDB reader gives exactly what the plain reader gives, and caches its Parquet copies."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from botify.logs.columnar import read_events_columnar
from botify.logs.reader import EventColumns, read_events
from botify.service.eventlog import event_line
from botify.state import Counters

FIELDS = [column.name for column in dataclasses.fields(EventColumns)]


def locations(samples: list[str]) -> list[str]:
    return [sample.rsplit(": ", 1)[0].split(": ")[0] for sample in samples]


class TestColumnar:
    @pytest.mark.parametrize("experiment", [None, "EXP", "OTHER", "MISSING"])
    def test_same_events_and_counts_as_the_plain_reader(self, logs: Path, tmp_path: Path,
                                                        experiment: str | None) -> None:
        plain, plain_report = read_events([logs], experiment)
        fast, fast_report = read_events_columnar([logs], experiment, cache_dir=tmp_path / "cache")
        for name in FIELDS:
            assert np.array_equal(getattr(plain, name), getattr(fast, name), equal_nan=name == "propensity"), name
        assert (fast_report.lines, fast_report.malformed, fast_report.outside_experiment, fast_report.duplicates) == (
            plain_report.lines, plain_report.malformed, plain_report.outside_experiment, plain_report.duplicates)
        assert locations(fast_report.samples) == locations(plain_report.samples)

    @pytest.mark.parametrize("experiment", [None, "E"])
    def test_counters_and_retried_requests_read_the_same(self, tmp_path: Path, experiment: str | None) -> None:
        def line(user: int, step: int, request_id: str | None, counters: Counters | None = None) -> bytes:
            return event_line("next", 5, user, 2, 0.5, 0.001, 3, {"E": "T1"},
                              counters or Counters(0, step, 1795000000000), request_id, 0.25 if step else None)

        replica_a = [line(1, 0, "x-0"), line(1, 1, "x-1"), line(2, 0, None), line(1, 2, "x-2"),
                     line(3, 0, "x-0", Counters(4, 0, None)), line(2, 1, None)]
        replica_b = [line(1, 1, "x-1"), line(2, 1, None), line(3, 0, "x-0"), line(1, 2, "x-2"),
                     line(1, 3, "x-1").replace(b'"step":3', b'"step":-3'),
                     line(1, 3, "x-1").replace(b'"x-1"', b"7")]
        (tmp_path / "logs").mkdir()
        for name, lines in (("a.json", replica_a), ("b.json", replica_b)):
            (tmp_path / "logs" / name).write_bytes(b"".join(x + b"\n" for x in lines))
        plain, plain_report = read_events([tmp_path / "logs"], experiment)
        fast, fast_report = read_events_columnar([tmp_path / "logs"], experiment, cache_dir=tmp_path / "cache")
        for name in FIELDS:
            assert np.array_equal(getattr(plain, name), getattr(fast, name), equal_nan=name == "propensity"), name
        # user 1's x-1 and x-2 and user 3's x-0 were logged twice (retried); user 2's lines carry no id
        assert plain_report.duplicates == fast_report.duplicates == 3
        assert plain_report.lines == fast_report.lines == 10 and len(plain) == 7
        assert plain.epoch.tolist() == [1795000000000] * 4 + [-1, 1795000000000, 1795000000000]
        assert np.isnan(plain.propensity).tolist() == [True, False, True, False, True, False, False]
        assert plain_report.malformed == fast_report.malformed == 2
        assert [s.split(": ", 1)[1] for s in plain_report.samples] == [
            "`step` must be a non-negative integer or null, got -3", "`request_id` must be a string or null, got 7"]
        assert locations(fast_report.samples) == locations(plain_report.samples)

    def test_every_kind_of_bad_line_is_reported_with_its_line_number(self, tmp_path: Path) -> None:
        good = event_line("next", 1, 1, 2, 0.5, 0.001, 3, {"E": "T1"})
        bad = [b'{"message": "next"', b"[1, 2]", b'{"message": "skip", "timestamp": 1}',
               good.replace(b'"next"', b'"skip"'), good.replace(b'"user":1', b'"user":1.5'),
               good.replace(b'"user":1', b'"user":true'), good.replace(b'"time":0.5', b'"time":"0.5"'),
               good.replace(b'"recommendation":3', b'"recommendation":"3"'),
               good.replace(b'{"E":"T1"}', b"[]"), good.replace(b'"T1"', b'"X"'), good.replace(b'"T1"', b"1")]
        log = tmp_path / "logs" / "data.json"
        log.parent.mkdir()
        log.write_bytes(b"\n".join([good, b"", *bad, good]) + b"\n")
        plain, plain_report = read_events([log], "E")
        fast, fast_report = read_events_columnar([log], "E", cache_dir=tmp_path / "cache")
        assert plain_report.malformed == fast_report.malformed == len(bad)
        assert len(fast.user) == 2 and np.array_equal(plain.time, fast.time)
        assert fast_report.samples[0].startswith(f"{log}:3: not JSON")

    def test_parquet_copy_is_reused_until_the_file_changes(self, logs: Path, tmp_path: Path) -> None:
        cache = tmp_path / "cache"
        read_events_columnar([logs], "EXP", cache_dir=cache)
        first = sorted(cache.iterdir())
        read_events_columnar([logs], "EXP", cache_dir=cache)
        assert sorted(cache.iterdir()) == first
        with (logs / "r1" / "data.json").open("ab") as handle:
            handle.write(event_line("last", 50, 3, 1, 0.5, 0.001, None, {"EXP": "T1"}) + b"\n")
        events, _ = read_events_columnar([logs], "EXP", cache_dir=cache)
        assert len(list(cache.iterdir())) == len(first) + 1 and 50 in events.timestamp
