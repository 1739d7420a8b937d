"""The eager front end, request by request.

An answer in one write (pipelined ones together, after their log lines), answers in order, bad requests refused.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from botify.cluster.redis_server import RedisServer
from botify.experiments import plan_or_default
from botify.service.app import BotifyApp
from botify.service.eager import EagerServer, _Connection
from botify.service.process import ServiceProcess
from botify.state.redis import RedisStore
from botify.world.catalog import Catalog
from tests.service.test_protocol import RecordingTransport


def request(path: str, body: bytes = b'{"track": 1, "time": 0.5}', extra: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body


class WatchedTransport(RecordingTransport):
    """Calls ``on_write`` before each write is recorded (what was already on disk when an answer left)."""

    def __init__(self, on_write: Callable[[], None]) -> None:
        super().__init__()
        self.on_write = on_write

    def write(self, data: Any) -> None:
        self.on_write()
        super().write(data)


def feed(app: BotifyApp, *chunks: bytes, answers: int = 0,
         on_write: Callable[[], None] = lambda: None) -> RecordingTransport:
    """Feed the chunks to one connection; wait for ``answers`` answers (a handler awaiting Redis takes a while)."""
    async def scenario() -> RecordingTransport:
        connection = _Connection(EagerServer(app))
        transport = WatchedTransport(on_write)
        connection.connection_made(transport)  # type: ignore[arg-type]
        for chunk in chunks:
            connection.data_received(chunk)
        for _ in range(500):
            await asyncio.sleep(0 if not answers else 0.002)
            if len(responses(b"".join(transport.writes))) >= answers:
                break
        if app.store is not None and hasattr(app.store, "close"):
            app.store.close()  # its connections belong to this loop
        return transport

    return asyncio.run(scenario())


def responses(data: bytes) -> list[tuple[bytes, bytes]]:
    """``(head, body)`` of each response in a connection's bytes, in order."""
    found = []
    while data:
        head, rest = data.split(b"\r\n\r\n", 1)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        found.append((head, rest[:length]))
        data = rest[length:]
    return found


def users(transport: RecordingTransport) -> list[object]:
    return [orjson.loads(body).get("user") for _, body in responses(b"".join(transport.writes))]


@pytest.fixture()
def app(catalog: Catalog, tmp_path: Path) -> BotifyApp:
    return BotifyApp(catalog, plan_or_default(None), log_dir=tmp_path / "log")


class TestEagerConnection:
    def test_each_answer_is_one_write_with_its_head(self, app: BotifyApp) -> None:
        transport = feed(app, request("/next/1"))
        assert len(transport.writes) == 1 and not transport.closed
        head, body = transport.writes[0].split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and f"content-length: {len(body)}".encode() in head
        assert orjson.loads(body)["user"] == 1

    def test_pipelined_requests_are_answered_in_order_in_one_write_after_their_log_lines(
            self, app: BotifyApp, tmp_path: Path) -> None:
        log = tmp_path / "log" / "data.json"
        written_before: list[int] = []
        transport = feed(app, request("/next/1") + request("/next/2") + request("/last/1"),
                         on_write=lambda: written_before.append(len(log.read_bytes().splitlines())))
        assert users(transport) == [1, 2, 1] and len(transport.writes) == 1 and written_before == [3]

    def test_handlers_that_await_redis_answer_in_order(self, catalog: Catalog, tmp_path: Path,
                                                        redis_server: RedisServer) -> None:
        store = RedisStore(redis_server.url, prefix=f"eager-{uuid.uuid4().hex[:8]}")
        app = BotifyApp(catalog, plan_or_default(None), log_dir=tmp_path / "log", store=store)
        transport = feed(app, request("/next/1") + request("/next/2") + request("/next/1") + request("/last/1"),
                         answers=4)
        assert users(transport) == [1, 2, 1, 1] and store.round_trips == 4 and store.fallback_calls == 0
        logged = [orjson.loads(line) for line in (tmp_path / "log" / "data.json").read_bytes().splitlines()]
        assert [(line["user"], line["step"]) for line in logged] == [(1, 0), (2, 0), (1, 1), (1, 2)]

    def test_a_request_split_across_packets_is_answered_once_whole(self, app: BotifyApp) -> None:
        whole = request("/next/3")
        transport = feed(app, whole[:10], whole[10:40], whole[40:])
        assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK")

    def test_client_mistakes_are_4xx_and_the_connection_stays(self, app: BotifyApp) -> None:
        transport = feed(app, request("/next/x") + request("/nowhere") + request("/next/4", b'{"track": -1}'))
        statuses = [head[9:12] for head, _ in responses(b"".join(transport.writes))]
        assert statuses == [b"422", b"404", b"422"] and not transport.closed

    def test_a_body_over_the_limit_is_refused_and_the_connection_closed(self, app: BotifyApp) -> None:
        transport = feed(app, request("/next/1", b"x" * 5000))
        assert transport.writes[-1].startswith(b"HTTP/1.1 413") and transport.closed

    def test_a_malformed_request_gets_400_and_a_close(self, app: BotifyApp) -> None:
        transport = feed(app, b"NOT HTTP AT ALL\r\n\r\n")
        assert transport.writes[0].startswith(b"HTTP/1.1 400") and transport.closed

    def test_connection_close_is_honoured(self, app: BotifyApp) -> None:
        transport = feed(app, request("/next/1", extra=b"Connection: close\r\n"))
        assert b"connection: close" in transport.writes[0] and transport.closed


class TestServers:
    @pytest.mark.parametrize("server", ["eager", "uvicorn"])
    def test_either_front_end_serves_the_same_answers(self, world_dir: Path, tmp_path: Path, server: str) -> None:
        with ServiceProcess(world_dir, log_dir=tmp_path / server, extra_args=["--server", server]) as service:
            with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
                sock.sendall(request("/next/7") + request("/next/7"))
                data = b""
                while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"}"):
                    data += sock.recv(65536)
        answers = [orjson.loads(part.split(b"\r\n\r\n", 1)[1]) for part in data.split(b"HTTP/1.1 ")[1:]]
        assert [a["user"] for a in answers] == [7, 7]
        logged = [orjson.loads(line) for line in (tmp_path / server / "data.json").read_bytes().splitlines()]
        assert [line["recommendation"] for line in logged] == [a["track"] for a in answers]

    @pytest.mark.parametrize("workers", [1, 2])
    def test_sigterm_ends_the_eager_server_by_the_signal_and_flushes_every_log(
            self, world_dir: Path, tmp_path: Path, workers: int) -> None:
        service = ServiceProcess(world_dir, log_dir=tmp_path / "log", workers=workers,
                                 extra_args=["--server", "eager"]).start()
        assert service.process is not None
        for user in range(20):
            with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
                sock.sendall(request(f"/next/{user}", extra=b"Connection: close\r\n"))
                while sock.recv(65536):
                    pass
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=30) == -signal.SIGTERM  # as uvicorn: the exit status says SIGTERM
        service.stop()
        logged = [line for log in (tmp_path / "log").glob("data*.json") for line in log.read_bytes().splitlines()]
        assert sorted(orjson.loads(line)["user"] for line in logged) == list(range(20))
