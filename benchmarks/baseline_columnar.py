"""The log reader as it was before the Arrow-split converter (kept for the A/B benchmark's comparison only).

Each file is converted by one DuckDB statement that splits the whole file into lines (``read_text`` and
``string_split``), then reads the JSON types and values of every line. Same contract as
``botify.logs.columnar.read_events_columnar``; its copies use their own cache directory.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np

from botify.logs.columnar import _connect, default_cache_dir
from botify.logs.reader import EventColumns, LogReadReport, find_log_files, read_events

__all__ = ["parquet_of", "read_events_columnar"]


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_INTEGER, _NUMBER = "('UBIGINT', 'BIGINT')", "('UBIGINT', 'BIGINT', 'DOUBLE')"
_FORMAT = "2"  # the Parquet copy's columns; a new format converts every file again
# Each line is parsed for the JSON types of its root and fields in one call; one reason per bad line, checked in
# the order of `botify.logs.reader._check` (its messages, shortened).
_CONVERT = f"""
COPY (
  WITH lines AS (
    SELECT generate_subscripts(parts, 1) AS line, unnest(parts) AS text
    FROM (SELECT string_split(content, chr(10)) AS parts FROM read_text($source))
  ), typed AS (
    SELECT line, text,
           try(json_type(text, ['$', '$.message', '$.timestamp', '$.user', '$.track', '$.time', '$.latency',
                                '$.recommendation', '$.experiments', '$.session', '$.step', '$.epoch',
                                '$.request_id'])) AS t
    FROM lines WHERE trim(text) <> ''
  ), checked AS (
    SELECT line, text, CASE
      WHEN t IS NULL THEN 'not JSON'
      WHEN t[1] <> 'OBJECT' THEN 'not a JSON object'
      WHEN len(list_filter(t[1:9], lambda x: x IS NULL)) > 0 THEN 'missing field(s)'
      WHEN t[2] <> 'VARCHAR' THEN '`message` must be ''next'' or ''last'''
      WHEN t[3] NOT IN {_INTEGER} THEN '`timestamp` must be an integer'
      WHEN t[4] NOT IN {_INTEGER} THEN '`user` must be an integer'
      WHEN t[5] NOT IN {_INTEGER} THEN '`track` must be an integer'
      WHEN t[6] NOT IN {_NUMBER} THEN '`time` must be a number'
      WHEN t[7] NOT IN {_NUMBER} THEN '`latency` must be a number'
      WHEN t[8] NOT IN ('NULL', 'UBIGINT', 'BIGINT') THEN '`recommendation` must be an integer or null'
      WHEN t[9] <> 'OBJECT' THEN '`experiments` must be an object'
      WHEN coalesce(t[10], 'NULL') NOT IN ('NULL', 'UBIGINT') THEN '`session` must be a non-negative integer or null'
      WHEN coalesce(t[11], 'NULL') NOT IN ('NULL', 'UBIGINT') THEN '`step` must be a non-negative integer or null'
      WHEN coalesce(t[12], 'NULL') NOT IN ('NULL', 'UBIGINT') THEN '`epoch` must be a non-negative integer or null'
      WHEN coalesce(t[13], 'NULL') NOT IN ('NULL', 'VARCHAR') THEN '`request_id` must be a string or null'
    END AS problem
    FROM typed
  ), valued AS (
    SELECT line, problem,
           CASE WHEN problem IS NULL THEN json_extract_string(text, ['$.message', '$.timestamp', '$.user',
                '$.track', '$.time', '$.latency', '$.recommendation', '$.experiments', '$.session', '$.step',
                '$.epoch', '$.request_id']) END AS v
    FROM checked
  )
  SELECT line, CASE WHEN problem IS NULL AND v[1] NOT IN ('next', 'last') THEN '`message` must be ''next'' or ''last'''
                    ELSE problem END AS problem,
         v[1] = 'last' AS is_last, CAST(v[2] AS BIGINT) AS timestamp,
         CAST(v[3] AS BIGINT) AS "user", CAST(v[4] AS BIGINT) AS track, CAST(v[5] AS DOUBLE) AS time,
         CAST(v[6] AS DOUBLE) AS latency,
         CASE WHEN problem IS NULL THEN coalesce(CAST(v[7] AS BIGINT), -1) END AS recommendation,
         v[8] AS experiments, coalesce(CAST(v[9] AS BIGINT), -1) AS session,
         coalesce(CAST(v[10] AS BIGINT), -1) AS step, coalesce(CAST(v[11] AS BIGINT), -1) AS epoch,
         v[12] AS request_id
  FROM valued ORDER BY line
) TO '{{out}}' (FORMAT parquet, COMPRESSION zstd)
"""
# Per good line: NULL (in the experiment), 'outside', or why its arm label is malformed.
_LABEL = "json_type(experiments, $path) AS label_type, json_extract_string(experiments, $path) AS label"
_VERDICT = """CASE
  WHEN problem IS NOT NULL THEN problem
  WHEN label_type IS NULL THEN 'outside'
  WHEN label_type <> 'VARCHAR' THEN 'arm of ' || $name || ' must be a string'
  WHEN NOT regexp_full_match(label, 'C|T[0-9]*[1-9][0-9]*') THEN 'unknown arm label ' || label
END"""
_ARM = "CASE label WHEN 'C' THEN 0 ELSE TRY_CAST(substr(label, 2) AS BIGINT) END"


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def parquet_of(path: Path, cache_dir: Path, connection: duckdb.DuckDBPyConnection | None = None) -> Path:
    """The validated Parquet copy of one log file, converted now if the cache has none for this version."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_FORMAT}".encode()).hexdigest()[:24]
    out = cache_dir / f"{path.name}.{key}.parquet"
    if not out.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(f".{os.getpid()}.tmp")
        connection = connection or _connect()
        connection.execute(_CONVERT.replace("'{out}'", _quoted(partial)), {"source": str(path)})
        os.replace(partial, out)
    return out


def read_events_columnar(paths: Iterable[str | Path], experiment: str | None = None, *,
                         cache_dir: str | Path | None = None) -> tuple[EventColumns, LogReadReport]:
    """``read_events`` through cached Parquet copies: good lines as columns, and what was read."""
    paths = list(paths)
    if experiment is not None and not _PLAIN_NAME.fullmatch(experiment):
        return read_events(paths, experiment)  # a name a JSON path cannot hold verbatim: the plain reader
    report = LogReadReport(files=find_log_files(paths))
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    connection = _connect()
    copies = [parquet_of(path, cache, connection) for path in report.files]
    scans = " UNION ALL ".join(f"SELECT {i} AS file, * FROM read_parquet({_quoted(c)})" for i, c in enumerate(copies))
    label, verdict, arm = ("NULL AS label_type, NULL AS label", "problem", "-1") if experiment is None else (
        _LABEL, _VERDICT, _ARM)
    parameters = {} if experiment is None else {"path": f'$."{experiment}"', "name": experiment}
    connection.execute(f"CREATE TEMP TABLE judged AS SELECT file, line, {verdict} AS verdict, {arm} AS arm, "
                       "* EXCLUDE (file, line, problem, experiments, label_type, label) "
                       f"FROM (SELECT *, {label} FROM ({scans}))",
                       parameters)
    for file, line, reason in connection.execute(
            "SELECT file, line, verdict FROM judged WHERE verdict IS NOT NULL AND verdict <> 'outside' "
            "ORDER BY file, line").fetchall():
        report.note_malformed(report.files[file], int(line), str(reason))
    counted = connection.execute("SELECT count(*) FILTER (verdict = 'outside'), count(*) FILTER (verdict IS NULL) "
                                 "FROM judged").fetchone()
    assert counted is not None
    report.outside_experiment = int(counted[0])
    report.lines = int(counted[0]) + int(counted[1])
    report.duplicates = _mark_repeated_requests(connection)
    without_repeats = "" if not report.duplicates else " AND (file, line) NOT IN (SELECT (file, line) FROM repeated)"
    good = connection.execute('SELECT "user", track, arm, timestamp, time, latency, recommendation, is_last, '
                              f"session, step, epoch FROM judged WHERE verdict IS NULL{without_repeats} "
                              "ORDER BY file, line").fetchnumpy()
    return EventColumns(
        user=good["user"].astype(np.int64), track=good["track"].astype(np.int64), arm=good["arm"].astype(np.int64),
        timestamp=good["timestamp"].astype(np.int64), time=good["time"].astype(np.float64),
        latency=good["latency"].astype(np.float64), recommendation=good["recommendation"].astype(np.int64),
        is_last=good["is_last"].astype(np.bool_), session=good["session"].astype(np.int64),
        step=good["step"].astype(np.int64), epoch=good["epoch"].astype(np.int64),
    ), report


def _mark_repeated_requests(connection: duckdb.DuckDBPyConnection) -> int:
    """Table ``repeated``: good lines whose (user, request id) an earlier line (file, line order) carried."""
    connection.execute("""
        CREATE TEMP TABLE repeated AS
        WITH with_id AS (SELECT file, line, "user", request_id FROM judged
                         WHERE verdict IS NULL AND request_id IS NOT NULL),
             twice AS (SELECT "user", request_id FROM with_id GROUP BY ALL HAVING count(*) > 1)
        SELECT file, line FROM (
          SELECT file, line, row_number() OVER (PARTITION BY "user", request_id ORDER BY file, line) AS copy
          FROM with_id SEMI JOIN twice USING ("user", request_id))
        WHERE copy > 1""")
    counted = connection.execute("SELECT count(*) FROM repeated").fetchone()
    assert counted is not None
    return int(counted[0])

