"""Sessions from logs of any size: DuckDB orders the lines under a memory limit, Python cuts them into sessions.

The in-memory path (``read_events_with``, then ``sessionize``) holds every line in numpy, about 210 bytes each at
its peak. Here no line is held in Python all at once:

1. every file gets its validated Parquet copy (``logs/columnar.py``; converted in runs of lines, ``LogLines``);
2. in DuckDB, under ``memory_limit`` and spilling to ``temp_directory``: the experiment's good lines, without the
   later copies of a retried request, with the users whose lines do not all carry exact counters marked, sorted
   by (arm, user, service order, file, line) — the in-memory path's order (``logs/sessions.py``);
3. Python reads the sorted lines in batches cut at a user's end and sessionizes each with ``sessionize`` itself:
   every session gets the same lines in the same order, hence the same sums to the last bit.

Only the sessions stay in memory (48 bytes each, one per about seven lines), plus what DuckDB is allowed.
Request latencies, which a quantile needs all of, stay in DuckDB (``quantile``/``counts``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from botify.errors import ConfigError
from botify.logs.columnar import JudgedCopy, copy_path, default_cache_dir
from botify.logs.parquet_copy import convert_logs
from botify.logs.reader import EventColumns, LogReadReport, find_log_files
from botify.logs.sessions import Sessions, sessionize
from botify.progress import ProgressCallback

__all__ = ["DEFAULT_MEMORY", "BoundedLogs", "parse_memory"]

logger = logging.getLogger(__name__)

DEFAULT_MEMORY = "4GB"
_BATCH_ROWS = 1 << 20
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
          "TIB": 2**40}
_DUCKDB_SHARE = 0.5  # of the budget: the rest is for Python (sessions, per-user sums) and the interpreter


def parse_memory(text: str) -> int:
    """Bytes of a size such as ``4GB``, ``512MiB`` (``ConfigError`` for anything else)."""
    found = _SIZE.match(text)
    if found is None:
        raise ConfigError(f"a memory size looks like 4GB, 512MB or 2GiB, got {text!r}")
    size = int(float(found.group(1)) * _UNITS[found.group(2).upper()])
    if size < 64 * 10**6:
        raise ConfigError(f"the analysis needs at least 64MB of memory, got {text!r}")
    return size


class BoundedLogs:
    """One experiment's lines in DuckDB, read through views over the Parquet copies; ``close`` when done.

    ``memory`` bounds the whole analysis: DuckDB gets half of it, the rest is for the sessions Python keeps.
    """

    def __init__(self, paths: Iterable[str | Path], experiment: str | None = None, *,
                 memory: str = DEFAULT_MEMORY, cache_dir: str | Path | None = None,
                 temp_dir: str | Path | None = None, progress: ProgressCallback | None = None) -> None:
        budget = parse_memory(memory)
        self.report = LogReadReport(files=find_log_files(paths))
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        copies = [copy_path(path, cache) for path in self.report.files]
        limit = f"{max(budget * _DUCKDB_SHARE, 32 * 2**20) / 2**20:.0f}MiB"
        spill = Path(temp_dir) if temp_dir is not None else cache / "spill"
        spill.mkdir(parents=True, exist_ok=True)

        def connect() -> duckdb.DuckDBPyConnection:
            connection = duckdb.connect(config={"memory_limit": limit, "temp_directory": str(spill)})
            connection.execute("SET enable_progress_bar = false")
            connection.execute("SET preserve_insertion_order = false")  # every query that needs an order says it
            return connection

        convert_logs([(path, copy) for path, copy in zip(self.report.files, copies, strict=True)
                      if not copy.exists()], connect, progress)
        self.connection = connect()
        self._latency_counts: dict[int, int] = {}
        self._judge(copies, experiment)
        logger.info("bounded analysis: %s of DuckDB memory, spilling to %s", limit, spill)

    def _judge(self, copies: list[Path], experiment: str | None) -> None:
        """Count every file's lines (as the in-memory reader does) and define the views ``good`` and ``kept``."""
        arms: dict[str, int] = {}
        selects = []
        for index, (path, copy) in enumerate(zip(self.report.files, copies, strict=True)):
            judged = JudgedCopy(self.connection, copy, experiment)
            judged.count_into(self.report, path)
            arms.update(judged.arms)
            quoted = str(copy).replace("'", "''")
            selects.append(f"SELECT {index}::BIGINT * 1099511627776 + line AS pos, \"user\", track, timestamp, "
                           f"time, latency, is_last, session, step, epoch, request_id, experiments "
                           f"FROM read_parquet('{quoted}') WHERE problem IS NULL")
        self.connection.register("arm_of", pa.table({"experiments": pa.array(list(arms), pa.string()),
                                                     "arm": pa.array(list(arms.values()), pa.int64())}))
        lines = " UNION ALL ".join(selects) if selects else _EMPTY
        self.connection.execute(f"CREATE TEMP VIEW good AS SELECT l.*, a.arm FROM ({lines}) l "
                                "JOIN arm_of a USING (experiments)")
        # A retried request's later copies (same user and request id, later in reading order) are left out: the
        # (user, id hash) pairs seen twice first, then the ids themselves, among those few lines only.
        self.connection.execute(
            "CREATE TEMP TABLE repeated AS SELECT \"user\", request_id, min(pos) AS first FROM good "
            "SEMI JOIN (SELECT \"user\", hash(request_id) AS h FROM good WHERE request_id IS NOT NULL "
            "           GROUP BY ALL HAVING count(*) > 1) twice "
            "ON good.\"user\" = twice.\"user\" AND hash(good.request_id) = twice.h "
            "GROUP BY ALL HAVING count(*) > 1")
        [(duplicates,)] = self.connection.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM good JOIN repeated "
            "USING (\"user\", request_id) GROUP BY \"user\", request_id)").fetchall()
        self.report.duplicates = int(duplicates)
        self.connection.execute(
            "CREATE TEMP VIEW kept AS SELECT g.* FROM good g LEFT JOIN repeated r USING (\"user\", request_id) "
            "WHERE r.first IS NULL OR g.pos = r.first")
        self.connection.execute(
            "CREATE TEMP TABLE inexact AS SELECT DISTINCT \"user\" FROM kept "
            "WHERE NOT (epoch >= 0 AND session >= 0 AND step >= 0)")

    @functools.cached_property
    def lines(self) -> int:
        """The experiment's lines the analysis uses (retried copies left out)."""
        [(count,)] = self.connection.execute("SELECT count(*) FROM kept").fetchall()
        return int(count)

    def _sorted(self) -> Iterator[pa.RecordBatch]:
        """Every kept line in service order, in batches (DuckDB's sort spills what does not fit)."""
        reader = self.connection.sql(
            "SELECT k.arm, k.\"user\", k.track, k.timestamp, k.time, k.latency, k.is_last, k.session, k.step, "
            "CASE WHEN i.\"user\" IS NULL THEN k.epoch ELSE -1 END AS epoch "
            "FROM kept k LEFT JOIN inexact i USING (\"user\") "
            "ORDER BY k.arm, k.\"user\", "
            "CASE WHEN i.\"user\" IS NULL THEN k.epoch ELSE k.timestamp END, "
            "CASE WHEN i.\"user\" IS NULL THEN k.session ELSE 0 END, "
            "CASE WHEN i.\"user\" IS NULL THEN k.step ELSE 0 END, k.pos").to_arrow_reader(_BATCH_ROWS)
        if reader is not None:
            yield from reader

    def sessions(self, progress: ProgressCallback | None = None) -> Sessions:
        """The sessions of every (user, arm), as ``sessionize`` cuts them from all lines in memory.

        ``progress("sessionizing (lines)", lines done, lines)`` after each batch.
        """
        total = self.lines if progress is not None else 0
        parts = _SessionParts()
        carried: pa.Table | None = None
        done = 0
        for batch in self._sorted():
            table = pa.Table.from_batches([batch]) if carried is None else pa.concat_tables(
                [carried, pa.Table.from_batches([batch])])
            arm, user = (table.column(name).to_numpy() for name in ("arm", "user"))
            last_block = _last_block_start(arm, user)
            if last_block > 0:
                parts.add(sessionize(_events(table.slice(0, last_block))))
            carried = table.slice(last_block)
            done += batch.num_rows
            if progress is not None:
                progress("sessionizing (lines)", done, total)
        if carried is not None and carried.num_rows:
            parts.add(sessionize(_events(carried)))
        return parts.joined()

    def first_tracks(self, users: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each of ``users``' track on their earliest kept line (reading order breaks ties), -1 for none."""
        rows = self.connection.execute("SELECT \"user\", arg_min(track, (timestamp, pos)) FROM kept GROUP BY \"user\""
                                       ).fetchnumpy()
        lookup = dict(zip(rows["user"].tolist(), rows[list(rows)[1]].tolist(), strict=True))
        return np.array([lookup.get(u, -1) for u in users.tolist()], dtype=np.int64)

    # The request latencies (ms) of every kept line, for quantile metrics (``botify.ab.quantiles.Observations``).

    def arms(self) -> list[int]:
        """The arms that have lines."""
        return sorted(int(arm) for (arm,) in self.connection.execute("SELECT DISTINCT arm FROM kept").fetchall())

    def users(self, arm: int) -> int:
        """Users with lines in the arm."""
        [(count,)] = self.connection.execute("SELECT count(DISTINCT \"user\") FROM kept WHERE arm = $arm",
                                             {"arm": arm}).fetchall()
        return int(count)

    def quantile(self, arm: int, level: float) -> float:
        """The arm's latency quantile (ms), from its order statistics exactly as ``np.quantile`` interpolates."""
        if arm not in self._latency_counts:
            self._sort_latencies()
        count = self._latency_counts[arm]
        low, high, gamma = _linear_position(count, level)
        rows = dict(self.connection.execute("SELECT k, ms FROM latency_order WHERE arm = $arm AND k IN ($low, $high)",
                                            {"arm": arm, "low": low, "high": high}).fetchall())
        return _lerp(rows[low], rows[high], gamma)

    def _sort_latencies(self) -> None:
        """Every kept line's latency (ms) with its rank in its arm (a sort DuckDB spills), counted per arm."""
        self.connection.execute(
            "CREATE OR REPLACE TEMP TABLE latency_order AS SELECT arm, latency * 1000.0 AS ms, "
            "row_number() OVER (PARTITION BY arm ORDER BY latency) - 1 AS k FROM kept")
        self._latency_counts = {int(arm): int(n) for arm, n in self.connection.execute(
            "SELECT arm, count(*) FROM latency_order GROUP BY arm").fetchall()}

    def counts(self, arm: int, threshold: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per user of the arm, in user order: latencies at most ``threshold`` ms, and all."""
        rows = self.connection.execute(
            "SELECT \"user\", count(*) FILTER (WHERE latency * 1000.0 <= $threshold) AS below, count(*) AS total "
            "FROM kept WHERE arm = $arm GROUP BY \"user\" ORDER BY \"user\"",
            {"arm": arm, "threshold": threshold}).fetchnumpy()
        return rows["below"].astype(np.float64), rows["total"].astype(np.float64)

    def close(self) -> None:
        """Close the DuckDB connection (its spill files go with it)."""
        self.connection.close()

    def __enter__(self) -> BoundedLogs:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


_EMPTY = ("SELECT NULL::BIGINT AS pos, NULL::BIGINT AS \"user\", NULL::BIGINT AS track, NULL::BIGINT AS timestamp, "
          "NULL::DOUBLE AS time, NULL::DOUBLE AS latency, NULL::BOOLEAN AS is_last, NULL::BIGINT AS session, "
          "NULL::BIGINT AS step, NULL::BIGINT AS epoch, NULL::VARCHAR AS request_id, NULL::VARCHAR AS experiments "
          "WHERE false")


def _linear_position(count: int, level: float) -> tuple[int, int, float]:
    """The two order statistics (0-based) ``np.quantile``'s linear method interpolates, and the weight of the second.

    The same floating-point steps as numpy's (the virtual index ``(n - 1) q``), so the same quantile to the last bit.
    """
    virtual = (count - 1) * np.float64(level)
    if virtual >= count - 1:
        return count - 1, count - 1, 0.0
    if virtual < 0:
        return 0, 0, 0.0
    low = int(np.floor(virtual))
    return low, low + 1, float(virtual - low)


def _lerp(a: float, b: float, t: float) -> float:
    """The interpolation of numpy's quantiles between two order statistics (from the nearer end, for accuracy)."""
    a64, b64, t64 = np.float64(a), np.float64(b), np.float64(t)
    difference = b64 - a64
    return float(b64 - difference * (1 - t64) if t64 >= 0.5 else a64 + difference * t64)


def _last_block_start(arm: npt.NDArray[np.int64], user: npt.NDArray[np.int64]) -> int:
    """Where the rows of the batch's last (arm, user) begin (that user may go on in the next batch)."""
    changes = np.flatnonzero((arm[1:] != arm[:-1]) | (user[1:] != user[:-1]))
    return int(changes[-1]) + 1 if len(changes) else 0


def _events(table: pa.Table) -> EventColumns:
    """Sorted lines as the columns ``sessionize`` reads (recommendations are not needed for sessions)."""
    def column(name: str) -> npt.NDArray[Any]:
        values: npt.NDArray[Any] = table.column(name).to_numpy()
        return values

    n = table.num_rows
    return EventColumns(user=column("user"), track=column("track"), arm=column("arm"), timestamp=column("timestamp"),
                        time=column("time"), latency=column("latency"), recommendation=np.full(n, -1, np.int64),
                        is_last=column("is_last"), session=column("session"), step=column("step"),
                        epoch=column("epoch"))


class _SessionParts:
    """Sessions cut batch by batch, joined column by column (one column's copy at a time, not all of them)."""

    _NAMES = ("user", "arm", "tracks", "time", "latency_ms", "end")

    def __init__(self) -> None:
        self.columns: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in self._NAMES}
        self.unfinished = 0

    def add(self, sessions: Sessions) -> None:
        for name in self._NAMES:
            self.columns[name].append(getattr(sessions, name))
        self.unfinished += sessions.unfinished

    def joined(self) -> Sessions:
        def take(name: str, dtype: type[np.generic]) -> npt.NDArray[Any]:
            parts, self.columns[name] = self.columns[name], []
            return np.concatenate(parts) if parts else np.zeros(0, dtype)

        return Sessions(user=take("user", np.int64), arm=take("arm", np.int64), tracks=take("tracks", np.int64),
                        time=take("time", np.float64), latency_ms=take("latency_ms", np.float64),
                        end=take("end", np.int64), unfinished=self.unfinished)
