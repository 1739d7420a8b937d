"""A Redis that stops answering (SIGSTOP: connections are accepted, nothing is answered) does not stall the service."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from botify.cluster.redis_server import RedisServer
from botify.service.process import ServiceProcess, free_port
from botify.sim.agents.http import HttpConnection
from botify.testing.artifacts import write_report_arms

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs Debian's redis-server (.ci/run installs it)")


async def next_latencies(port: int, requests: int, concurrency: int) -> list[float]:
    """Seconds per ``POST /next``, ``concurrency`` connections at once, each one user's session."""
    latencies: list[float] = []

    async def one_connection(user: int) -> None:
        connection = HttpConnection("127.0.0.1", port, timeout=10)
        track = 1
        for _ in range(requests // concurrency):
            started = time.perf_counter()
            status, body = await connection.request("POST", f"/next/{user}",
                                                    orjson.dumps({"track": track, "time": 0.5}))
            latencies.append(time.perf_counter() - started)
            assert status == 200, body
            track = int(orjson.loads(body)["track"])
        connection.close()

    await asyncio.gather(*(one_connection(user) for user in range(concurrency)))
    return latencies


def gauge(url: str, name: str) -> float:
    line = next(x for x in httpx.get(url + "/metrics").text.splitlines() if x.startswith(name + " "))
    return float(line.split()[1])


class TestHungRedis:
    def test_next_stays_fast_and_ready_says_503(self, world_dir: Path, model_artifacts: Path, tmp_path: Path) -> None:
        config = write_report_arms(tmp_path / "report.yml")  # stateful arms: every request needs the store
        with RedisServer(free_port(), tmp_path / "redis") as redis, ServiceProcess(
                world_dir, config=config, log_dir=tmp_path / "log",
                extra_args=["--state", redis.url, "--artifacts", str(model_artifacts)]) as service:
            assert redis.process is not None
            asyncio.run(next_latencies(service.port, 200, 8))             # warm up on a healthy Redis
            redis.process.send_signal(signal.SIGSTOP)
            try:
                latencies = asyncio.run(next_latencies(service.port, 2000, 8))
                ready = httpx.get(service.url + "/ready", timeout=5)
                errors = gauge(service.url, "botify_state_store_errors")
                fallback = gauge(service.url, "botify_state_store_fallback_calls")
            finally:
                redis.process.send_signal(signal.SIGCONT)
            p99 = float(np.percentile(latencies, 99))
            print(f"/next with Redis stopped: p50 {np.median(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, "
                  f"max {max(latencies) * 1000:.1f} ms; store errors {errors:.0f}, fallback calls {fallback:.0f}")
            assert ready.status_code == 503 and "unreachable" in ready.json()["reason"]
            assert errors >= 1 and fallback >= 2000                        # the hang was met, and routed around
            assert p99 < 0.010
            deadline = time.monotonic() + 5
            while httpx.get(service.url + "/ready").status_code != 200:    # back once Redis answers again
                assert time.monotonic() < deadline
                time.sleep(0.05)
