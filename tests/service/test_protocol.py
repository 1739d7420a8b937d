"""A response leaves the service in one write, so a replica killed mid-answer never leaves half of one."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from botify.service.protocol import WholeResponseProtocol


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    await receive()
    body = b'{"user": 1, "track": 2}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 5001)}.get(name, default)

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def writes_for_one_request(protocol_class: type[HttpToolsProtocol]) -> list[bytes]:
    async def scenario() -> list[bytes]:
        config = uvicorn.Config(app, http=protocol_class, lifespan="off", log_level="warning")
        config.load()
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
        transport = RecordingTransport()
        protocol.connection_made(transport)
        protocol.data_received(b"POST /next/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}")
        for _ in range(20):  # let the app's task run and the turn end
            await asyncio.sleep(0)
        return transport.writes

    return asyncio.run(scenario())


class TestWholeResponses:
    def test_head_and_body_go_out_in_one_write(self) -> None:
        writes = writes_for_one_request(WholeResponseProtocol)
        assert len(writes) == 1
        assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b'{"user": 1, "track": 2}')

    def test_uvicorns_own_protocol_writes_twice(self) -> None:
        """What the wrapper guards against: the head first, the body in a second write."""
        writes = writes_for_one_request(HttpToolsProtocol)
        assert len(writes) == 2 and writes[1] == b'{"user": 1, "track": 2}'
