"""The bounded path (DuckDB under a memory limit) cuts exactly the sessions the in-memory path cuts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from botify.ab import analyze_logs
from botify.ab.table import Comparison
from botify.cli import main
from botify.errors import ConfigError
from botify.logs.bounded import BoundedLogs, _lerp, _linear_position, parse_memory
from botify.logs.columnar import read_events_columnar
from botify.logs.parquet_copy import LogLines
from botify.logs.reader import read_events
from botify.logs.sessions import Sessions, sessionize
from botify.service.eventlog import event_line
from botify.state import Counters

SESSION_FIELDS = [field.name for field in dataclasses.fields(Sessions)]


def assert_same_sessions(got: Sessions, expected: Sessions) -> None:
    for name in SESSION_FIELDS:
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name


def same_rows(got: list[Comparison], expected: list[Comparison]) -> bool:
    """Equal rows, field by field (NaN equal to NaN: in-process logs carry zero latency, whose effect is NaN)."""
    def key(row: Comparison) -> tuple[object, ...]:
        return tuple("nan" if isinstance(v, float) and np.isnan(v) else v for v in dataclasses.astuple(row))

    return [key(row) for row in got] == [key(row) for row in expected]


def messy_logs(root: Path) -> Path:
    """Two replicas: retried requests, a user without counters, a user whose counters repeat, two arms."""
    def line(message: str, stamp: int, user: int, time: float, arm: str, counters: Counters | None,
             request_id: str | None) -> bytes:
        return event_line(message, stamp, user, 7, time, 0.001 * (user % 3 + 1), None if message == "last" else 2,
                          {"E": arm}, counters, request_id) + b"\n"

    epoch = 1795000000000
    a = [line("next", 10, 1, 0.5, "C", Counters(0, 0, epoch), "a"), line("next", 10, 1, 0.25, "C",
                                                                         Counters(0, 1, epoch), "b"),
         line("last", 12, 1, 1.0, "C", Counters(0, 2, epoch), "c"),
         line("next", 5, 2, 0.75, "T1", None, None), line("last", 6, 2, 0.5, "T1", None, None),
         line("next", 40, 3, 0.5, "T1", Counters(0, 2, epoch), "p"), line("last", 50, 3, 1.0, "T1",
                                                                          Counters(0, 3, epoch), "q")]
    b = [line("next", 11, 1, 0.25, "C", Counters(0, 1, epoch), "b"),     # a retry of request b: left out
         line("next", 13, 1, 0.125, "C", Counters(1, 0, epoch), "d"), line("last", 14, 1, 0.5, "C",
                                                                           Counters(1, 1, epoch), "e"),
         line("next", 1, 2, 0.25, "T1", None, None),
         line("next", 10, 3, 0.25, "T1", Counters(0, 0, epoch), "m"),
         line("next", 20, 3, 0.5, "T1", Counters(0, 1, epoch), "n"),
         line("last", 30, 3, 0.75, "T1", Counters(0, 2, epoch), "o")]  # user 3's step 2 came twice
    for name, lines in (("a", a), ("b", b)):
        (root / name).mkdir(parents=True)
        (root / name / "data.json").write_bytes(b"".join(lines))
    return root


class TestBoundedSessions:
    @pytest.mark.parametrize("experiment", [None, "EXP", "OTHER"])
    def test_same_sessions_and_counts_as_in_memory(self, logs: Path, tmp_path: Path, experiment: str | None) -> None:
        events, report = read_events([logs], experiment)
        with BoundedLogs([logs], experiment, memory="64MB", cache_dir=tmp_path / "cache") as bounded:
            assert_same_sessions(bounded.sessions(), sessionize(events))
            got = bounded.report
        assert (got.lines, got.malformed, got.outside_experiment, got.duplicates, got.samples) == (
            report.lines, report.malformed, report.outside_experiment, report.duplicates, report.samples)

    def test_retries_missing_and_repeated_counters(self, tmp_path: Path) -> None:
        logs = messy_logs(tmp_path / "logs")
        events, report = read_events([logs], "E")
        with BoundedLogs([logs], "E", memory="64MB", cache_dir=tmp_path / "cache") as bounded:
            sessions = bounded.sessions()
            assert bounded.report.duplicates == report.duplicates == 1 and bounded.lines == len(events.user) == 13
        assert_same_sessions(sessions, sessionize(events))
        assert sessions.tracks.tolist() == [3, 2, 3, 3, 2] and sessions.unfinished == 0  # user 3 by timestamp
        memory = analyze_logs([logs], "E", control="T1", cache_dir=tmp_path / "cache")
        bounded = analyze_logs([logs], "E", control="T1", cache_dir=tmp_path / "cache", memory="64MB")
        assert same_rows(bounded.rows, memory.rows)  # the p99 latency row included (latencies differ by user)

    def test_users_split_across_batches_are_cut_alike(self, collection_logs: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        import botify.logs.bounded

        monkeypatch.setattr(botify.logs.bounded, "_BATCH_ROWS", 1000)  # many batches, users cut across them
        events, _ = read_events_columnar([collection_logs], "EXPLORATION", cache_dir=tmp_path / "cache")
        seen: list[tuple[str, int, int]] = []
        with BoundedLogs([collection_logs], "EXPLORATION", cache_dir=tmp_path / "cache2",
                         progress=lambda *step: seen.append(step)) as bounded:
            assert_same_sessions(bounded.sessions(lambda *step: seen.append(step)), sessionize(events))
        lines = [step for step in seen if step[0] == "sessionizing (lines)"]
        assert len(lines) > 10 and lines[-1][1:] == (len(events.user), len(events.user))
        converting = [step for step in seen if step[0] == "converting logs (MB)"]
        assert converting and converting[-1][1] == converting[-1][2]  # a fresh cache: the logs were converted

    def test_same_table_and_first_tracks_as_in_memory(self, collection_logs: Path, tmp_path: Path) -> None:
        kept = analyze_logs([collection_logs], "EXPLORATION", cache_dir=tmp_path / "cache", first_tracks=True)
        bounded = analyze_logs([collection_logs], "EXPLORATION", cache_dir=tmp_path / "cache", first_tracks=True,
                               memory="64MB")
        assert bounded.memory == "64MB" and kept.memory is None
        assert same_rows(bounded.rows, kept.rows) and bounded.markdown() == kept.markdown()
        assert np.array_equal(bounded.first_track, kept.first_track)  # type: ignore[arg-type]


class TestQuantilePositions:
    def test_order_statistics_interpolate_as_numpy(self) -> None:
        rng = np.random.default_rng(3)
        for size in (1, 2, 7, 1000, 12345):
            values = np.sort(rng.lognormal(size=size))
            for level in (0.0, 0.001, 0.3, 0.5, 0.9, 0.99, 0.9999, 1.0):
                low, high, gamma = _linear_position(size, level)
                assert _lerp(values[low], values[high], gamma) == np.quantile(values, level), (size, level)


class TestMemoryOption:
    @pytest.mark.parametrize(("text", "size"), [("4GB", 4 * 10**9), ("512MiB", 512 * 2**20), ("1.5 gb", 1.5e9)])
    def test_sizes(self, text: str, size: float) -> None:
        assert parse_memory(text) == size

    @pytest.mark.parametrize("text", ["lots", "4", "-1GB", "1MB"])
    def test_bad_sizes_are_refused(self, text: str) -> None:
        with pytest.raises(ConfigError, match="memory"):
            parse_memory(text)

    def test_cli_refuses_a_bad_size_before_reading(self, logs: Path) -> None:
        result = CliRunner().invoke(main, ["ab", "analyze", str(logs), "--experiment", "EXP", "--memory", "lots"])
        assert result.exit_code == 2 and "4GB, 512MB or 2GiB" in result.output

    def test_cli_bounded_and_in_memory_print_the_same_table(self, collection_logs: Path, tmp_path: Path) -> None:
        outputs = []
        for memory in ("256MB", "none"):
            out = tmp_path / f"{memory}.md"
            result = CliRunner().invoke(main, ["ab", "analyze", str(collection_logs), "--experiment", "EXPLORATION",
                                               "--memory", memory, "--out", str(out)])
            assert result.exit_code == 0, result.output
            outputs.append(out.read_text())
        assert outputs[0] == outputs[1]


class TestLogLinesInRuns:
    def test_any_run_size_gives_the_same_lines(self, logs: Path) -> None:
        path = logs / "r2" / "data.json"
        whole = [bytes(line) for line in path.read_bytes().splitlines(keepends=True)]
        for chunk in (1, 50, 100, 1 << 26):
            lines = LogLines.read(path, chunk_bytes=chunk)
            batches = list(lines.batches())
            got = [raw for batch in batches for raw in batch.column("raw").to_pylist()]
            numbers = [n for batch in batches for n in batch.column("line").to_pylist()]
            assert got == whole and numbers == list(range(1, len(whole) + 1)) and len(lines) == len(whole)
            assert [lines.line(n) for n in numbers] == whole
            if chunk == 50:
                assert len(batches) > 3
