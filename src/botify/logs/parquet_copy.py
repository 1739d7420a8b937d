"""One log file → its validated Parquet copy, parsed in parallel by DuckDB and judged exactly as the plain reader.

The file is split into lines in numpy (only a newline byte ends a line, as for the plain reader) and streamed to
DuckDB as Arrow rows of raw bytes, a run of lines at a time, without a copy (``LogLines``). DuckDB reads each line's
JSON types and values on every core. A line is accepted there only when DuckDB can vouch for it: a JSON object with
each known field once, of the right type, with no field the plain reader would not have read the same way (unknown
fields, duplicate names, escaped strings, the JSON extensions DuckDB's parser tolerates — NaN, Infinity, trailing
commas). Every other line — blank, malformed, or merely unusual — goes to the plain reader's own ``parse_line``,
which gives its verdict and reason. So each line gets the plain reader's verdict, and Python's cost is paid only for
the lines that need it.

The copy has one row per non-blank line, with its 1-based ``line`` number and ``problem`` (NULL for a good line).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from botify.logs.reader import COUNTER_FIELDS, parse_line
from botify.progress import ProgressCallback

__all__ = ["COPY_FORMAT", "LogLines", "convert_logs", "write_copy"]

COPY_FORMAT = "5"
"""The Parquet copy's layout; a new one converts every file again."""

_CHUNK_BYTES = 1 << 26  # a run of lines handed to DuckDB at a time: 64 MiB, about 280,000 lines
_LINES_SCHEMA = pa.schema([("line", pa.int64()), ("raw", pa.large_binary())])
_INTEGER, _NUMBER = "('UBIGINT', 'BIGINT')", "('UBIGINT', 'BIGINT', 'DOUBLE')"
# (field, JSON types DuckDB may accept it with, whether the line must have it); anything else is asked. `message`
# and `experiments` need no type here: a value of another type cannot read as 'next'/'last' or as an object.
_TYPED = (
    ("timestamp", _INTEGER, True), ("user", _INTEGER, True), ("track", _INTEGER, True), ("time", _NUMBER, True),
    ("latency", _NUMBER, True), ("recommendation", "('NULL', 'UBIGINT', 'BIGINT')", True),
    *((name, "('NULL', 'UBIGINT')", False) for name in COUNTER_FIELDS),
    ("request_id", "('NULL', 'VARCHAR')", False), ("propensity", "('NULL', 'UBIGINT', 'BIGINT', 'DOUBLE')", False),
    ("team", "('NULL', 'UBIGINT')", False),
)
_VALUE_TYPES = {"message": "VARCHAR", "timestamp": "BIGINT", "user": "BIGINT", "track": "BIGINT", "time": "DOUBLE",
                "latency": "DOUBLE", "recommendation": "BIGINT", "experiments": "JSON", "session": "BIGINT",
                "step": "BIGINT", "epoch": "BIGINT", "request_id": "VARCHAR", "propensity": "DOUBLE",
                "team": "BIGINT"}


def _type_checks() -> str:
    checks = []
    for position, (_, allowed, required) in enumerate(_TYPED, start=1):
        checks.append(f"t[{position}] IN {allowed}" if required else f"coalesce(t[{position}], 'NULL') IN {allowed}")
    return " AND ".join(checks)


def _in_range() -> str:
    """Integers DuckDB typed but could not hold as BIGINT read as NULL: only JSON nulls may."""
    checks = []
    for position, (name, _, _) in enumerate(_TYPED, start=1):
        if _VALUE_TYPES[name] == "BIGINT":
            checks.append(f'(v."{name}" IS NOT NULL OR coalesce(t[{position}], \'NULL\') = \'NULL\')')
    return " AND ".join(checks)


def _commas(text: str) -> str:
    return f"(strlen({text}) - strlen(replace({text}, ',', '')))"


_PATHS = "[" + ", ".join(f"'$.{name}'" for name, _, _ in _TYPED) + "]"
_STRUCTURE = orjson.dumps(_VALUE_TYPES).decode()
# One pass, in parallel: `ask` marks the lines DuckDB cannot vouch for (see the module's docstring).
# Members are counted by commas: a line's commas are at least (members - 1) plus those inside the experiments
# object; any more means an unknown or repeated field, a trailing comma, or a comma inside a string — asked.
# The experiments object must hold only strings, once each, so that its re-serialized copy reads as the original.
_CONVERT = f"""
COPY (
  WITH typed AS (
    SELECT line, text, try(json_type(text, {_PATHS})) AS t FROM (SELECT line, try(decode(raw)) AS text FROM lines)
  ), valued AS (
    SELECT line, text, t, CASE WHEN {_type_checks()} AND NOT contains(text, '\\')
                           THEN try(from_json(text, '{_STRUCTURE}')) END AS v
    FROM typed
  ), judged AS (
    SELECT line, v, coalesce(v.message IN ('next', 'last') AND starts_with(v.experiments, '{{')
           AND isfinite(v.time) AND isfinite(v.latency) AND isfinite(coalesce(v.propensity, 0))
           AND {_in_range()}
           AND {_commas('text')} = list_aggregate(t, 'count') + 1 + {_commas('v.experiments')}
           AND CASE WHEN v.experiments = '{{}}'
                         OR (v.experiments LIKE '{{"%":"%"}}' AND NOT contains(v.experiments, ','))
                    THEN true  -- one string member: the common case, checked without parsing
                    ELSE list_distinct(json_type(v.experiments, '$.*')) = ['VARCHAR']
                         AND len(json_keys(v.experiments)) = len(list_distinct(json_keys(v.experiments))) END,
           false) AS good
    FROM valued
  )
  SELECT line, CASE WHEN good THEN NULL ELSE 'ask' END AS problem, v.message = 'last' AS is_last,
         v.timestamp, v."user", v.track, v.time, v.latency, coalesce(v.recommendation, -1) AS recommendation,
         CAST(v.experiments AS VARCHAR) AS experiments, coalesce(v.session, -1) AS session,
         coalesce(v.step, -1) AS step, coalesce(v.epoch, -1) AS epoch, v.request_id,
         coalesce(v.propensity, 'NaN'::DOUBLE) AS propensity, coalesce(v.team, -1) AS team
  FROM judged
) TO $out (FORMAT parquet, COMPRESSION zstd)
"""
_SCHEMA = pa.schema([("line", pa.int64()), ("problem", pa.string()), ("is_last", pa.bool_()),
                     ("timestamp", pa.int64()), ("user", pa.int64()), ("track", pa.int64()), ("time", pa.float64()),
                     ("latency", pa.float64()), ("recommendation", pa.int64()), ("experiments", pa.string()),
                     ("session", pa.int64()), ("step", pa.int64()), ("epoch", pa.int64()),
                     ("request_id", pa.string()), ("propensity", pa.float64()), ("team", pa.int64())])


class LogLines:
    """A log file's lines, found and handed to DuckDB chunk by chunk, so that memory does not grow with the file.

    The file is memory-mapped, not copied (its pages are usually in the page cache already). ``batches`` splits it
    into runs of whole lines of about ``chunk_bytes`` each: only a newline byte ends a line, as for the plain
    reader, and a last line may lack it. The pages of a run DuckDB has moved past are dropped from this process's
    memory (``MADV_DONTNEED``: a file's pages are read again from the page cache if touched again), so a file
    of any size costs about two runs of resident memory. Line ``i`` is 1-based.
    """

    def __init__(self, data: bytes | mmap.mmap, chunk_bytes: int = _CHUNK_BYTES,
                 progress: Callable[[int], None] | None = None) -> None:
        self.data, self.chunk_bytes, self.progress = data, chunk_bytes, progress
        self._raw = np.frombuffer(data, dtype=np.uint8)
        self._chunk_offsets: list[int] = []  # byte offset where each run starts
        self._chunk_lines: list[int] = []  # the number of each run's first line
        self.lines = 0  # lines seen so far (all of them once ``batches`` is exhausted)

    @classmethod
    def read(cls, path: Path, chunk_bytes: int = _CHUNK_BYTES,
             progress: Callable[[int], None] | None = None) -> LogLines:
        """Map a file (its lines are found as ``batches`` goes; ``progress(bytes handed to DuckDB)`` after each run)."""
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data: bytes | mmap.mmap = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ) if size else b""
        return cls(data, chunk_bytes, progress)

    def _run_end(self, start: int) -> int:
        """Where the run starting at ``start`` ends: just after the last newline within ``chunk_bytes``."""
        size = len(self._raw)
        end = min(start + self.chunk_bytes, size)
        while end < size:
            newlines = np.flatnonzero(self._raw[start:end] == 10)
            if len(newlines):
                return start + int(newlines[-1]) + 1
            end = min(start + 2 * (end - start), size)  # a line longer than a run: take more
        return size

    def _starts(self, start: int, end: int) -> npt.NDArray[np.int64]:
        """Offsets of the lines in ``[start, end)`` relative to ``start``, and ``end - start`` last."""
        starts = np.flatnonzero(self._raw[start:end] == 10).astype(np.int64) + 1
        if not len(starts) or starts[-1] != end - start:
            starts = np.append(starts, end - start)
        return np.concatenate([np.zeros(1, np.int64), starts])

    def batches(self) -> Iterator[pa.RecordBatch]:
        """``(line, raw)`` batches of whole lines over the file's bytes, without a copy."""
        view = memoryview(self.data)
        start, first, previous = 0, 1, None
        self._chunk_offsets, self._chunk_lines = [], []
        while start < len(self._raw):
            end = self._run_end(start)
            starts = self._starts(start, end)
            count = len(starts) - 1
            self._chunk_offsets.append(start)
            self._chunk_lines.append(first)
            raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), count,
                                                   [None, pa.py_buffer(starts), pa.py_buffer(view[start:end])])
            yield pa.RecordBatch.from_arrays([pa.array(np.arange(first, first + count, dtype=np.int64)), raw],
                                             names=["line", "raw"])
            if previous is not None:
                self._drop(*previous)
            if self.progress is not None:
                self.progress(end)
            previous, start, first = (start, end), end, first + count
        self.lines = first - 1
        self._chunk_offsets.append(len(self._raw))
        self._chunk_lines.append(first)

    def _drop(self, start: int, end: int) -> None:
        if isinstance(self.data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            aligned = start - start % mmap.PAGESIZE
            self.data.madvise(mmap.MADV_DONTNEED, aligned, end - aligned)

    def reader(self) -> pa.RecordBatchReader:
        """``batches`` as a stream DuckDB scans (it pulls the next run when it needs one)."""
        return pa.RecordBatchReader.from_batches(_LINES_SCHEMA, self.batches())

    def __len__(self) -> int:
        return self.lines

    def line(self, number: int) -> bytes:
        """Line ``number`` (1-based) with its newline (after ``batches`` has gone past it)."""
        run = int(np.searchsorted(self._chunk_lines, number, side="right")) - 1
        start, end = self._chunk_offsets[run], self._chunk_offsets[run + 1]
        starts = self._starts(start, end)
        offset = number - self._chunk_lines[run]
        return bytes(self.data[start + starts[offset]:start + starts[offset + 1]])


def _resolved(lines: LogLines, numbers: npt.NDArray[np.int64]) -> pa.Table:
    """The asked lines, judged by the plain reader: blank ones dropped, the others good or with their problem."""
    rows: dict[str, list[Any]] = {name: [] for name in _SCHEMA.names}
    for number in numbers.tolist():
        text = lines.line(number)
        if not text.strip():
            continue
        record, problem = parse_line(text)
        rows["line"].append(number)
        rows["problem"].append(problem)
        good = record is not None
        values: dict[str, Any] = record if record is not None else {}
        rows["is_last"].append(values.get("message") == "last" if good else None)
        for name in ("timestamp", "user", "track", "time", "latency"):
            rows[name].append(values.get(name))
        recommendation = values.get("recommendation")
        rows["recommendation"].append((-1 if recommendation is None else recommendation) if good else None)
        rows["experiments"].append(orjson.dumps(values["experiments"]).decode() if good else None)
        for name in COUNTER_FIELDS:
            value = values.get(name)
            rows[name].append((-1 if value is None else value) if good else None)
        rows["request_id"].append(values.get("request_id"))
        propensity = values.get("propensity")
        rows["propensity"].append((float("nan") if propensity is None else float(propensity)) if good else None)
        team = values.get("team")
        rows["team"].append((-1 if team is None else team) if good else None)
    return pa.table(rows, schema=_SCHEMA)


def write_copy(lines: LogLines, out: Path, connection: duckdb.DuckDBPyConnection) -> int:
    """Write the validated Parquet copy of ``lines`` to ``out`` (atomically: a partial file, then a rename).

    Returns how many lines DuckDB left to the plain reader's judgement.
    """
    partial = out.with_suffix(f".{os.getpid()}.tmp")
    connection.register("lines", lines.reader())
    try:
        connection.execute(_CONVERT, {"out": str(partial)})
    finally:
        connection.unregister("lines")
    asked = connection.execute("SELECT line FROM read_parquet($copy) WHERE problem = 'ask'",
                               {"copy": str(partial)}).fetchnumpy()["line"]
    if len(asked):
        resolved = _resolved(lines, np.asarray(asked, dtype=np.int64))
        connection.register("resolved", resolved)
        try:
            connection.execute("COPY (SELECT * FROM read_parquet($copy) WHERE problem IS NULL UNION ALL "
                               "SELECT * FROM resolved ORDER BY line) TO $out (FORMAT parquet, COMPRESSION zstd)",
                               {"copy": str(partial), "out": str(partial) + ".2"})
        finally:
            connection.unregister("resolved")
        os.replace(str(partial) + ".2", partial)
    os.replace(partial, out)
    return len(asked)


def convert_logs(jobs: list[tuple[Path, Path]], connect: Callable[[], duckdb.DuckDBPyConnection],
                 progress: ProgressCallback | None = None) -> None:
    """Write each ``(log, copy)`` pair's copy, one file after another (each in runs: see ``LogLines``).

    ``progress("converting logs (MB)", megabytes done, megabytes)`` after each run of lines.
    """
    if not jobs:
        return
    connection = connect()
    total = sum(path.stat().st_size for path, _ in jobs)
    done = 0
    for path, out in jobs:
        out.parent.mkdir(parents=True, exist_ok=True)

        def report(offset: int, before: int = done) -> None:
            if progress is not None:
                progress("converting logs (MB)", (before + offset) >> 20, total >> 20)

        write_copy(LogLines.read(path, progress=report), out, connection)
        done += path.stat().st_size
