"""Fast log reading with DuckDB: every log file is validated and converted to Parquet once (cached), then read.

Same contract as ``botify.logs.reader.read_events`` — the same good lines in the same order, the same malformed
lines counted (with their file and line number) and the same lines outside the experiment — for logs of
millions of lines, with the same order fields and the same retried requests left out. A file's Parquet copy
(``botify.logs.parquet_copy``) is keyed by its absolute path, size and modification time (and the copy's format and
DuckDB's version), so an appended or rotated file is converted again and an unchanged one never is.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from botify.errors import ConfigError
from botify.logs.parquet_copy import COPY_FORMAT, convert_logs
from botify.logs.reader import EventColumns, LogReadReport, arm_index, find_log_files, read_events

__all__ = ["ENGINES", "JudgedCopy", "copy_path", "default_cache_dir", "parquet_of", "read_events_columnar",
           "read_events_with"]

ENGINES = ("duckdb", "python")

_SAMPLES = 5
_COLUMNS = ("user", "track", "arm", "timestamp", "time", "latency", "recommendation", "is_last", "session", "step",
            "epoch", "propensity", "team")


def default_cache_dir() -> Path:
    """``$BOTIFY_CACHE/logs``, by default ``~/.cache/botify/logs``."""
    return Path(os.environ.get("BOTIFY_CACHE", Path.home() / ".cache" / "botify")) / "logs"


def _connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    return connection


def copy_path(path: Path, cache_dir: Path) -> Path:
    """Where the Parquet copy of ``path`` is cached (a new name when the file, the format or DuckDB changes)."""
    stat = path.stat()
    version = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{COPY_FORMAT}|{duckdb.__version__}"
    return cache_dir / f"{path.name}.{hashlib.sha256(version.encode()).hexdigest()[:24]}.parquet"


def parquet_of(path: Path, cache_dir: Path) -> Path:
    """The validated Parquet copy of one log file, converted now if the cache has none for this version."""
    out = copy_path(path, cache_dir)
    if not out.exists():
        convert_logs([(path, out)], _connect)
    return out


class JudgedCopy:
    """One copy's lines judged for one experiment (or none): counts, malformed samples, good rows in line order.

    Arm labels are judged in Python by the plain reader's own rules, once per distinct ``experiments`` object.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, copy: Path, experiment: str | None) -> None:
        self.connection = connection
        self.parameters = {"copy": str(copy)}
        self.arms: dict[str, int] = {}  # good experiments objects and their arm (-1 when no experiment is asked)
        self.bad_labels: dict[str, str] = {}
        self.good = self.outside = self.malformed = 0
        for text, count in self._query("SELECT experiments, count(*) FROM read_parquet($copy) WHERE problem IS NULL "
                                       "GROUP BY experiments").fetchall():
            verdict = -1 if experiment is None else _arm_of(text, experiment)
            if verdict is None:
                self.outside += int(count)
            elif isinstance(verdict, str):
                self.bad_labels[str(text)] = verdict
                self.malformed += int(count)
            else:
                self.arms[str(text)] = verdict
                self.good += int(count)
        [(stored,)] = self._query("SELECT count(*) FROM read_parquet($copy) WHERE problem IS NOT NULL").fetchall()
        self.malformed += int(stored)

    def _query(self, sql: str) -> duckdb.DuckDBPyConnection:
        return self.connection.execute(sql, self.parameters)

    def count_into(self, report: LogReadReport, path: Path) -> None:
        """Add this copy's lines to ``report``: good and outside ones, malformed ones with the first samples."""
        report.lines += self.good + self.outside
        report.outside_experiment += self.outside
        samples = self.malformed_samples(_SAMPLES - len(report.samples)) if self.malformed else []
        for line, reason in samples:
            report.note_malformed(path, line, reason)
        report.malformed += self.malformed - len(samples)  # the rest, counted without samples

    def malformed_samples(self, limit: int) -> list[tuple[int, str]]:
        """The first ``limit`` malformed lines (stored problems and bad arm labels), by line number."""
        self.connection.register("bad_labels", pa.table({"experiments": list(self.bad_labels)},
                                                        schema=pa.schema([("experiments", pa.string())])))
        try:
            rows = self._query("SELECT line, problem, experiments FROM read_parquet($copy) WHERE problem IS NOT NULL "
                               "OR experiments IN (SELECT experiments FROM bad_labels) "
                               f"ORDER BY line LIMIT {int(limit)}").fetchall()
        finally:
            self.connection.unregister("bad_labels")
        return [(int(line), str(problem) if problem is not None else self.bad_labels[str(text)])
                for line, problem, text in rows]

    def good_rows(self) -> pa.Table:
        """Good lines' columns, ``line`` and a hash of ``request_id`` (``with_id`` says which lines have one)."""
        columns = ", ".join(f'"{name}"' for name in _COLUMNS if name != "arm")
        arms = [f"WHEN $experiments_{i} THEN {arm}" for i, arm in enumerate(self.arms.values())]
        arm = f"CASE experiments {' '.join(arms)} END" if arms else "NULL"
        table: pa.Table = self.connection.sql(
            f"SELECT line, {columns}, {arm} AS arm, request_id IS NOT NULL AS with_id, "
            f"hash(request_id) AS request_hash FROM read_parquet($copy) WHERE problem IS NULL AND arm IS NOT NULL",
            params=self.parameters | {f"experiments_{i}": text for i, text in enumerate(self.arms)}).to_arrow_table()
        lines = table.column("line").to_numpy()
        if len(lines) > 1 and not bool(np.all(lines[1:] > lines[:-1])):
            table = table.take(np.argsort(lines, kind="stable"))
        return table

    def request_ids(self, lines: npt.NDArray[np.int64]) -> dict[int, str]:
        """The request id of each of ``lines``."""
        self.connection.register("wanted", pa.table({"line": lines}))
        try:
            rows = self._query("SELECT line, request_id FROM read_parquet($copy) SEMI JOIN wanted USING (line)"
                               ).fetchall()
        finally:
            self.connection.unregister("wanted")
        return {int(line): str(request_id) for line, request_id in rows}


def _arm_of(experiments: str, experiment: str) -> int | str | None:
    """The arm index of ``experiment`` in one ``experiments`` object, None when absent, or why its label is bad."""
    label = orjson.loads(experiments).get(experiment)
    if label is None:
        return None
    if not isinstance(label, str):
        return f"arm of {experiment!r} must be a string, got {label!r}"
    try:
        return arm_index(label)
    except ValueError as error:
        return str(error)


def read_events_columnar(paths: Iterable[str | Path], experiment: str | None = None, *,
                         cache_dir: str | Path | None = None) -> tuple[EventColumns, LogReadReport]:
    """``read_events`` through cached Parquet copies: good lines as columns, and what was read."""
    report = LogReadReport(files=find_log_files(paths))
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    copies = [copy_path(path, cache) for path in report.files]
    convert_logs([(path, copy) for path, copy in zip(report.files, copies, strict=True) if not copy.exists()],
                 _connect)
    connection = _connect()
    files = [JudgedCopy(connection, copy, experiment) for copy in copies]
    tables = []
    for path, judged in zip(report.files, files, strict=True):
        judged.count_into(report, path)
        tables.append(judged.good_rows())
    keep = _first_requests(files, tables)
    report.duplicates = sum(int((~k).sum()) for k in keep)
    return EventColumns(*(_joined(tables, keep, name) for name in _COLUMNS)), report


def _joined(tables: list[pa.Table], keep: list[npt.NDArray[np.bool_]], name: str) -> npt.NDArray[Any]:
    """One column of every file's kept rows, in file order, copied once."""
    parts = [table.column(name) for table in tables]
    out = np.empty(sum(int(k.sum()) for k in keep), dtype=parts[0].type.to_pandas_dtype())
    at = 0
    for part, kept in zip(parts, keep, strict=True):
        if not kept.all():
            values = part.to_numpy()[kept]
            out[at:at + len(values)] = values
            at += len(values)
            continue
        for chunk in part.chunks:
            out[at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            at += len(chunk)
    return out


def _first_requests(files: list[JudgedCopy], tables: list[pa.Table]) -> list[npt.NDArray[np.bool_]]:
    """Per file, which good lines to keep: all but those whose (user, request id) an earlier line carried.

    Lines are grouped by a 64-bit mix of user and the id's hash first; only lines sharing a key with another
    line are compared by the ids themselves, in (file, line) order.
    """
    keep = [np.ones(table.num_rows, dtype=np.bool_) for table in tables]
    with_id = [table.column("with_id").to_numpy(zero_copy_only=False) for table in tables]
    keys = np.concatenate([
        table.column("request_hash").to_numpy()[ids] ^ (table.column("user").to_numpy()[ids].astype(np.uint64)
                                                        * np.uint64(0x9E3779B97F4A7C15))
        for table, ids in zip(tables, with_id, strict=True)])
    ordered = np.sort(keys)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return keep
    shared = np.isin(keys, np.unique(repeated))
    seen: set[tuple[int, str]] = set()
    at = 0
    for index, (judged, table, ids) in enumerate(zip(files, tables, with_id, strict=True)):
        positions = np.flatnonzero(ids)[shared[at:at + int(ids.sum())]]
        at += int(ids.sum())
        if not len(positions):
            continue
        lines = table.column("line").to_numpy()[positions]
        request_ids = judged.request_ids(lines)
        users = table.column("user").to_numpy()[positions]
        for position, line, user in zip(positions.tolist(), lines.tolist(), users.tolist(), strict=True):
            request = (int(user), request_ids[line])
            if request in seen:
                keep[index][position] = False
            seen.add(request)
    return keep


def read_events_with(engine: str, paths: Iterable[str | Path], experiment: str | None = None, *,
                     cache_dir: str | Path | None = None) -> tuple[EventColumns, LogReadReport]:
    """Read with ``"duckdb"`` (cached Parquet, for big logs) or ``"python"`` (line by line, no cache)."""
    if engine == "duckdb":
        return read_events_columnar(paths, experiment, cache_dir=cache_dir)
    if engine == "python":
        return read_events(paths, experiment)
    raise ConfigError(f"`engine` must be one of {ENGINES}, got {engine!r}")
