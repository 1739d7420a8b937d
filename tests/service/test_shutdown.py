"""Graceful shutdown under load: every answered request is in the log, and every line is whole."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import orjson

from botify.service.process import ServiceProcess
from botify.sim.agents.http import TRANSPORT_ERRORS, HttpConnection


async def hammer(port: int, stop_after: float, answered: list[int]) -> None:
    deadline = time.monotonic() + stop_after

    async def one_connection(index: int) -> None:
        connection = HttpConnection("127.0.0.1", port, timeout=5)
        step = 0
        while time.monotonic() < deadline:
            body = orjson.dumps({"track": (index * 7 + step) % 1000, "time": 0.5})
            try:
                status, _ = await connection.request("POST", f"/next/{index}", body)
            except TRANSPORT_ERRORS:
                return
            if status == 200:
                answered[0] += 1
            step += 1

    await asyncio.gather(*(one_connection(i) for i in range(16)))


class TestGracefulShutdown:
    def test_sigterm_under_load_loses_no_event(self, world_dir: Path, tmp_path: Path) -> None:
        service = ServiceProcess(world_dir, log_dir=tmp_path / "log").start()
        answered = [0]
        load = threading.Thread(target=lambda: asyncio.run(hammer(service.port, 10.0, answered)))
        load.start()
        time.sleep(1.5)
        assert service.process is not None
        service.process.send_signal(signal.SIGTERM)
        load.join()
        service.stop()
        raw = (tmp_path / "log" / "data.json").read_bytes()
        assert raw.endswith(b"\n")
        lines = [orjson.loads(line) for line in raw.splitlines()]
        assert answered[0] > 500
        assert len(lines) >= answered[0]
        assert all(line["message"] == "next" for line in lines)

    def test_kill_9_loses_no_answered_request(self, world_dir: Path, tmp_path: Path) -> None:
        import httpx

        service = ServiceProcess(world_dir, log_dir=tmp_path / "log").start()
        with httpx.Client(base_url=service.url) as client:
            answered = [client.post(f"/next/{user}", json={"track": 1, "time": 0.5}).json()["track"]
                        for user in range(300)]
        service.stop(signal.SIGKILL)  # no shutdown hook runs: only what was written before each answer
        lines = [orjson.loads(line) for line in (tmp_path / "log" / "data.json").read_bytes().splitlines()]
        assert [line["recommendation"] for line in lines] == answered
