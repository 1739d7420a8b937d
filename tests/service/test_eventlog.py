"""The event log: whole lines, rotation by size, flush on close, lost events counted instead of failing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from botify.errors import ConfigError
from botify.service.eventlog import EventLog, event_line


def line(i: int) -> bytes:
    return event_line("next", i, i, i, 0.5, 0.001, i + 1, {"E": "C"})


class TestEventLog:
    def test_lines_are_written_after_the_handler_in_one_batch(self, tmp_path: Path) -> None:
        log = EventLog(tmp_path)

        async def handler() -> int:
            for i in range(3):
                log.append(line(i))
            size_during = log.path.stat().st_size
            await asyncio.sleep(0)
            return size_during

        assert asyncio.run(handler()) == 0
        assert log.path.read_bytes().splitlines() == [line(i) for i in range(3)]

    def test_rotates_between_whole_lines(self, tmp_path: Path) -> None:
        log = EventLog(tmp_path, max_bytes=2000)
        for i in range(100):
            log.append(line(i))
            log.flush()
        log.close()
        files = sorted(tmp_path.iterdir())
        assert len(files) > 3
        assert all(p.stat().st_size <= 2000 for p in files)
        rotated = sorted((p for p in files if p.name != "data.json"), key=lambda p: -int(p.suffix[1:]))
        lines = [x for p in [*rotated, tmp_path / "data.json"] for x in p.read_bytes().splitlines()]
        assert lines == [line(i) for i in range(100)]

    def test_close_flushes_pending_lines(self, tmp_path: Path) -> None:
        log = EventLog(tmp_path)
        log._pending.append(line(1))
        log.close()
        assert log.path.read_bytes() == line(1) + b"\n"

    def test_unwritable_directory_is_a_clear_error(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(ConfigError, match="cannot write the event log in"):
            EventLog(blocker / "log")

    def test_write_errors_count_lost_events(self, tmp_path: Path) -> None:
        log = EventLog(tmp_path)
        os.close(log._fd)
        log._fd = os.open(os.devnull, os.O_RDONLY)
        log.append(line(1))
        log.flush()
        assert log.lost_events == 1 and log.written_events == 0
        log.close()

    def test_a_failed_rotation_leaves_no_stale_descriptor(self, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        log = EventLog(tmp_path, max_bytes=len(line(1)) + 10)
        log.append(line(1))
        log.flush()
        real_replace = Path.replace

        def refuse(self: Path, target: str | Path) -> Path:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(Path, "replace", refuse)
        descriptor = log._fd
        log.append(line(2))
        log.flush()                                     # the rotation fails after closing the file
        assert log.lost_events == 1
        with (tmp_path / "bystander").open("wb") as bystander:
            assert bystander.fileno() == descriptor     # the OS handed the closed descriptor's number on
            monkeypatch.setattr(Path, "replace", real_replace)
            log.append(line(3))
            log.flush()                                 # the log opens its own file again; never the bystander
        assert (tmp_path / "bystander").read_bytes() == b""
        log.close()
        written = [x for p in sorted(tmp_path.glob("data.json*")) for x in p.read_bytes().splitlines()]
        assert sorted(written) == sorted([line(1), line(3)]) and log.written_events == 2
