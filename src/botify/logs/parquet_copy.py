"""One log file → its validated Parquet copy, parsed in parallel by DuckDB and judged exactly as the plain reader.

The file is split into lines in numpy (only a newline byte ends a line, as for the plain reader) and handed to DuckDB as
Arrow rows of raw bytes, without a copy. DuckDB reads each line's JSON types and values on every core. A line is
accepted there only when DuckDB can vouch for it: a JSON object with each known field once, of the right type,
with no field the plain reader would not have read the same way (unknown fields, duplicate names, escaped
strings, the JSON extensions DuckDB's parser tolerates — NaN, Infinity, trailing commas). Every other line —
blank, malformed, or merely unusual — goes to the plain reader's own ``parse_line``, which gives its verdict
and reason. So each line gets the plain reader's verdict, and Python's cost is paid only for the lines that need it.

The copy has one row per non-blank line, with its 1-based ``line`` number and ``problem`` (NULL for a good line).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from botify.logs.reader import COUNTER_FIELDS, parse_line

__all__ = ["COPY_FORMAT", "LogLines", "convert_logs", "write_copy"]

COPY_FORMAT = "5"
"""The Parquet copy's layout; a new one converts every file again."""

_CHUNK = 1 << 22
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


@dataclass(frozen=True)
class LogLines:
    """A log file's bytes and where each line starts; line ``i`` (1-based) is ``data[starts[i-1]:starts[i]]``."""

    data: bytes | mmap.mmap
    starts: npt.NDArray[np.int64]

    @classmethod
    def read(cls, path: Path) -> LogLines:
        """Map a file and find its lines: every newline byte ends one, and a last line may lack it.

        The file is memory-mapped, not copied: its pages are usually in the page cache already.
        """
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data: bytes | mmap.mmap = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ) if size else b""
        raw = np.frombuffer(data, dtype=np.uint8)
        ends = [np.flatnonzero(raw[at:at + _CHUNK] == 10) + (at + 1) for at in range(0, len(raw), _CHUNK)]
        starts = np.concatenate([np.zeros(1, np.int64), *ends]).astype(np.int64)
        if starts[-1] != len(data):
            starts = np.append(starts, len(data))
        return cls(data, starts)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def line(self, number: int) -> bytes:
        """Line ``number`` (1-based) with its newline."""
        return self.data[self.starts[number - 1]:self.starts[number]]

    def arrow(self) -> pa.Table:
        """The lines as a two-column Arrow table (``line``, ``raw``) over the file's bytes, without a copy."""
        raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(self),
                                               [None, pa.py_buffer(self.starts), pa.py_buffer(self.data)])
        return pa.table({"line": np.arange(1, len(self) + 1, dtype=np.int64), "raw": raw})


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
    table = lines.arrow()
    connection.register("lines", table)
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


def convert_logs(jobs: list[tuple[Path, Path]], connect: Callable[[], duckdb.DuckDBPyConnection]) -> None:
    """Write each ``(log, copy)`` pair's copy; the next file is read and split while DuckDB converts this one."""
    if not jobs:
        return
    connection = connect()
    with ThreadPoolExecutor(max_workers=1) as reader:
        upcoming = reader.submit(LogLines.read, jobs[0][0])
        for index, (_, out) in enumerate(jobs):
            lines = upcoming.result()
            if index + 1 < len(jobs):
                upcoming = reader.submit(LogLines.read, jobs[index + 1][0])
            out.parent.mkdir(parents=True, exist_ok=True)
            write_copy(lines, out, connection)
