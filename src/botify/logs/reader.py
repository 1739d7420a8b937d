"""Read the service's event logs: every replica's files, rotated ones included, malformed lines reported.

A path may be a file or a directory (searched recursively for ``*.json`` and rotated ``*.json.N`` files).
Each line must be a JSON object with the reference fields and types; anything else is counted and sampled
in ``LogReadReport`` — never silently dropped. Our service adds ``session``, ``step`` and ``epoch`` (integers,
or null when its counters were not exact) and ``request_id`` (a string, when the client sent one); logs without
them (the course's service, older versions) read as before. A line whose ``request_id`` an earlier line of the
same user already carried is a retried request: it is counted in ``duplicates`` and left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from botify.errors import ConfigError

__all__ = ["COUNTER_FIELDS", "EventColumns", "LogReadReport", "arm_index", "find_log_files", "parse_line",
           "read_events"]

_LOG_NAME = re.compile(r".*\.json(\.\d+)?$")
_FIELDS = ("message", "timestamp", "user", "track", "time", "latency", "recommendation", "experiments")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
COUNTER_FIELDS = ("session", "step", "epoch")
"""Our extra fields after the reference ones: the service's per-user counters (see ``botify.state.Counters``)."""


@dataclass
class LogReadReport:
    """What was read: files, good lines, malformed lines (with a few samples), lines outside the experiment."""

    files: list[Path] = field(default_factory=list)
    lines: int = 0
    malformed: int = 0
    samples: list[str] = field(default_factory=list)
    outside_experiment: int = 0
    duplicates: int = 0

    def note_malformed(self, path: Path, number: int, reason: str) -> None:
        """Count one bad line and keep the first few reasons."""
        self.malformed += 1
        if len(self.samples) < 5:
            self.samples.append(f"{path}:{number}: {reason}")

    def describe(self) -> str:
        """One paragraph for the terminal and the report."""
        text = f"read {self.lines:,} lines from {len(self.files)} file(s); malformed lines: {self.malformed:,}"
        if self.outside_experiment:
            text += f"; lines without the experiment: {self.outside_experiment:,}"
        if self.duplicates:
            text += f"; retried requests counted once (duplicate lines left out): {self.duplicates:,}"
        return text + "".join(f"\n  {sample}" for sample in self.samples)


@dataclass(frozen=True)
class EventColumns:
    """Good log lines as columns, in reading order (files sorted, lines in file order).

    ``arm`` is the line's arm index in the requested experiment (``-1`` when no experiment was asked);
    ``recommendation`` is ``-1`` on ``last`` lines. ``session``, ``step`` and ``epoch`` are the service's
    counters, ``-1`` where the line has none (an old log, or counters that were not exact). ``propensity`` is the
    logging policy's probability of the recommendation, NaN where the line has none.
    """

    user: npt.NDArray[np.int64]
    track: npt.NDArray[np.int64]
    arm: npt.NDArray[np.int64]
    timestamp: npt.NDArray[np.int64]
    time: npt.NDArray[np.float64]
    latency: npt.NDArray[np.float64]
    recommendation: npt.NDArray[np.int64]
    is_last: npt.NDArray[np.bool_]
    session: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    step: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    epoch: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    propensity: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))
    team: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n = len(self.user)
        for name in COUNTER_FIELDS:
            if len(getattr(self, name)) != n:
                object.__setattr__(self, name, np.full(n, -1, dtype=np.int64))
        if len(self.propensity) != n:
            object.__setattr__(self, "propensity", np.full(n, np.nan))
        if len(self.team) != n:
            object.__setattr__(self, "team", np.full(n, -1, dtype=np.int64))

    def exact(self) -> npt.NDArray[np.bool_]:
        """Lines that carry exact counters (ordered by ``(epoch, session, step)`` rather than timestamp)."""
        return (self.epoch >= 0) & (self.session >= 0) & (self.step >= 0)

    def __len__(self) -> int:
        return int(self.user.shape[0])


def find_log_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories into a sorted list of log files."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and _LOG_NAME.match(p.name))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"log path {path} does not exist")
    if not files:
        raise ConfigError(f"no log files (*.json, *.json.N) under {[str(p) for p in paths]}")
    return files


def arm_index(label: str) -> int:
    """``"C" → 0``, ``"T3" → 3``; raise ``ValueError`` for anything else."""
    if label == "C":
        return 0
    if label.startswith("T") and label[1:].isascii() and label[1:].isdigit() and int(label[1:]) > 0:
        return int(label[1:])
    raise ValueError(f"unknown arm label {label!r}")


def _is_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and _INT64_MIN <= value <= _INT64_MAX


def _check(record: object) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [name for name in _FIELDS if name not in record]
    if missing:
        return f"missing field(s) {missing}"
    if record["message"] not in ("next", "last"):
        return f"`message` must be 'next' or 'last', got {record['message']!r}"
    for name in ("timestamp", "user", "track"):
        if not _is_int64(record[name]):
            return f"`{name}` must be an integer, got {record[name]!r}"
    for name in ("time", "latency"):
        if not isinstance(record[name], int | float) or isinstance(record[name], bool):
            return f"`{name}` must be a number, got {record[name]!r}"
    recommendation = record["recommendation"]
    if recommendation is not None and not _is_int64(recommendation):
        return f"`recommendation` must be an integer or null, got {recommendation!r}"
    if not isinstance(record["experiments"], dict):
        return f"`experiments` must be an object, got {record['experiments']!r}"
    for name in COUNTER_FIELDS:
        value = record.get(name)
        if value is not None and (not _is_int64(value) or value < 0):
            return f"`{name}` must be a non-negative integer or null, got {value!r}"
    propensity = record.get("propensity")
    if propensity is not None and (not isinstance(propensity, int | float) or isinstance(propensity, bool)):
        return f"`propensity` must be a number or null, got {propensity!r}"
    team = record.get("team")
    if team is not None and (not _is_int64(team) or team < 0):
        return f"`team` must be a non-negative integer or null, got {team!r}"
    request_id = record.get("request_id")
    if request_id is not None and not isinstance(request_id, str):
        return f"`request_id` must be a string or null, got {request_id!r}"
    return None


def parse_line(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """One non-blank log line as this reader judges it: ``(record, None)``, or ``(None, why it is malformed)``."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return None, f"not JSON ({error})"
    problem = _check(record)
    return (None, problem) if problem is not None else (record, None)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def read_events(paths: Iterable[str | Path], experiment: str | None = None) -> tuple[EventColumns, LogReadReport]:
    """Read every log line; with ``experiment``, keep only the lines that carry it (the others are counted)."""
    report = LogReadReport(files=find_log_files(paths))
    columns: dict[str, list[Any]] = {name: [] for name in ("user", "track", "arm", "timestamp", "time", "latency",
                                                           "recommendation", *COUNTER_FIELDS, "propensity",
                                                           "team")}
    lasts: list[bool] = []
    seen_requests: set[tuple[int, str]] = set()
    for path in report.files:
        for number, line in _lines(path):
            record, problem = parse_line(line)
            arm = -1
            if record is not None and experiment is not None:
                label = record["experiments"].get(experiment)
                if label is None:
                    report.outside_experiment += 1
                    report.lines += 1
                    continue
                try:
                    arm = arm_index(label) if isinstance(label, str) else -1
                except ValueError as error:
                    problem = str(error)
                else:
                    if arm < 0:
                        problem = f"arm of {experiment!r} must be a string, got {label!r}"
            if record is None or problem is not None:
                report.note_malformed(path, number, problem or "")
                continue
            report.lines += 1
            request_id = record.get("request_id")
            if request_id is not None:
                if (record["user"], request_id) in seen_requests:
                    report.duplicates += 1
                    continue
                seen_requests.add((record["user"], request_id))
            recommendation = record["recommendation"]
            for name, value in (("user", record["user"]), ("track", record["track"]), ("arm", arm),
                                ("timestamp", record["timestamp"]), ("time", record["time"]),
                                ("latency", record["latency"]),
                                ("recommendation", -1 if recommendation is None else recommendation)):
                columns[name].append(value)
            for name in COUNTER_FIELDS:
                value = record.get(name)
                columns[name].append(-1 if value is None else value)
            propensity = record.get("propensity")
            columns["propensity"].append(np.nan if propensity is None else propensity)
            team = record.get("team")
            columns["team"].append(-1 if team is None else team)
            lasts.append(record["message"] == "last")
    def ints(name: str) -> npt.NDArray[np.int64]:
        return np.array(columns[name], dtype=np.int64)

    def floats(name: str) -> npt.NDArray[np.float64]:
        return np.array(columns[name], dtype=np.float64)

    events = EventColumns(
        user=ints("user"), track=ints("track"), arm=ints("arm"), timestamp=ints("timestamp"), time=floats("time"),
        latency=floats("latency"), recommendation=ints("recommendation"), is_last=np.array(lasts, dtype=np.bool_),
        session=ints("session"), step=ints("step"), epoch=ints("epoch"), propensity=floats("propensity"),
        team=ints("team"),
    )
    return events, report
