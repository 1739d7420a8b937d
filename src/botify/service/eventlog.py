"""The event log: one JSON line per request, appended off the request path, rotated by size.

The service calls ``write(line)`` before it sends the answer, so every answered request is in the file (the page
cache) even if the process is killed right after. ``append(line)`` queues a line instead: pending lines are written
by the next ``flush()`` or by one ``os.write`` scheduled right after the handler (``loop.call_soon``). A line is
never split, and ``close()`` (graceful shutdown) writes whatever is pending. Files rotate like
``logging.handlers.RotatingFileHandler``: ``data.json`` → ``data.json.1`` → ``data.json.2``...; rotation happens
only between whole lines.
A write error (disk full, directory removed) never fails a request: the lost lines are counted in
``lost_events``; a rotation that fails leaves no descriptor behind, and the next flush opens the file again.

Lines carry the reference fields, in the reference order, then ``session``, ``step`` and ``epoch`` (the
service's per-user counters, which order a user's lines exactly across replicas), ``request_id`` when the
client sent an ``X-Request-Id`` header (a retried request is counted once) and, on ``next`` lines, ``propensity``:
the probability with which the serving recommender chose its answer, when it can say (off-policy evaluation), and
``team``: for an ``interleave`` arm, the index of the component whose turn it was (interleaving's credit).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson

from botify.errors import ConfigError
from botify.state import Counters

__all__ = ["EventLog", "event_line"]


def event_line(message: str, timestamp: int, user: int, track: int, time: float, latency: float,
               recommendation: int | None, experiments: dict[str, str], counters: Counters | None = None,
               request_id: str | None = None, propensity: float | None = None, team: int | None = None) -> bytes:
    """One log record (no newline): the reference fields in the reference order, then ours.

    Without ``counters`` the line has exactly the reference fields (a log as the course's service wrote it).
    """
    record: dict[str, object] = {
        "message": message, "timestamp": timestamp, "user": user, "track": track, "time": time,
        "latency": latency, "recommendation": recommendation, "experiments": experiments,
    }
    if counters is not None:
        record["session"], record["step"], record["epoch"] = counters.session, counters.step, counters.epoch
    if request_id is not None:
        record["request_id"] = request_id
    if propensity is not None:
        record["propensity"] = propensity
    if team is not None:
        record["team"] = team
    return orjson.dumps(record)


class EventLog:
    """An append-only JSON-lines file with size-based rotation."""

    def __init__(self, directory: str | Path, *, filename: str = "data.json", max_bytes: int = 64 << 20,
                 backups: int = 1000) -> None:
        self.directory = Path(directory)
        self.path = self.directory / filename
        self.max_bytes = max_bytes
        self.backups = backups
        self.lost_events = 0
        self.written_events = 0
        self._pending: list[bytes] = []
        self._scheduled = False
        self.held = False  # write() queues: the front end flushes before the answers leave (see ``write``)
        self._fd = -1
        self._size = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._open()
        except OSError as error:
            raise ConfigError(f"cannot write the event log in {self.directory}: {error.strerror}") from error

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size

    def append(self, line: bytes) -> None:
        """Queue one line (without its newline) and make sure a flush is scheduled."""
        self._pending.append(line)
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:
                self.flush()

    def write(self, line: bytes) -> None:
        """Write one line (and any pending) now, with no callback scheduled: the service's request path.

        While ``held``, the line waits for the caller's ``flush()``, which must come before any answer leaves: a
        front end that answers several pipelined requests in one write holds their lines and writes them in one.
        """
        self._pending.append(line)
        if not self.held:
            self.flush()

    def flush(self) -> None:
        """Write every pending line now."""
        self._scheduled = False
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        data = b"\n".join(lines) + b"\n"
        try:
            if self._fd < 0:  # a rotation or an open failed earlier: try the file again
                self._open()
            if self._size and self._size + len(data) > self.max_bytes:
                self._rotate()
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            self._size += len(data)
            self.written_events += len(lines)
        except OSError:
            self.lost_events += len(lines)

    def close(self) -> None:
        """Flush and close (graceful shutdown)."""
        self.flush()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _rotate(self) -> None:
        fd, self._fd = self._fd, -1  # never keep a closed number: the OS hands it to the next file opened
        os.close(fd)
        for index in range(self.backups - 1, 0, -1):
            source = Path(f"{self.path}.{index}")
            if source.exists():
                source.replace(f"{self.path}.{index + 1}")
        self.path.replace(f"{self.path}.1")
        self._open()
