"""A minimal HTTP/1.1 keep-alive client on an asyncio protocol — lean enough not to be the bottleneck.

One ``HttpConnection`` carries one request at a time (as one simulated user's requests are sequential);
the remote agent opens one per concurrent session. Responses need ``Content-Length`` or chunked encoding.
"""

from __future__ import annotations

import asyncio
from typing import cast
from urllib.parse import urlsplit

from botify.errors import ConfigError

__all__ = ["TRANSPORT_ERRORS", "HttpConnection", "parse_base_url"]

TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError)
"""What a failed exchange raises: network errors, a cut-off response, a timeout, an unparsable response."""


def parse_base_url(url: str) -> tuple[str, int]:
    """``http://host:port`` → ``(host, port)``; anything else is a ``ConfigError``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"`url` must look like http://HOST:PORT, got {url!r}")
    return parts.hostname, parts.port or 80


class _Response(asyncio.Protocol):
    """Collects one response at a time from a connection's bytes (status, headers, body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._buffer = bytearray()
        self._head: tuple[int, int, int, bool, bool] | None = None  # status, body start, length, chunked, close
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self.waiter is not None:
            self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None:
            self._complete()

    def expect(self, waiter: asyncio.Future[tuple[int, bytes, bool]]) -> None:
        """Resolve ``waiter`` with the next response ``(status, body, close)``."""
        self.waiter = waiter
        self._complete()

    def _finish(self, result: tuple[int, bytes, bool] | BaseException) -> None:
        waiter, self.waiter, self._head = self.waiter, None, None
        if waiter is None or waiter.done():
            return
        if isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)

    def _complete(self) -> None:
        try:
            response = self._parse()
        except (ValueError, IndexError) as error:  # an unparsable response
            self._finish(error)
            return
        if response is not None:
            self._finish(response)
        elif self.lost:
            if self._buffer:
                self._finish(asyncio.IncompleteReadError(bytes(self._buffer), None))
            else:
                self._finish(ConnectionResetError("connection closed by the server"))

    def _parse(self) -> tuple[int, bytes, bool] | None:
        buffer = self._buffer
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return None
            status_line, *header_lines = bytes(buffer[:end]).split(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            length = -1
            chunked = close = False
            for line in header_lines:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            self._head = (status, end + 4, length, chunked, close)
        status, start, length, chunked, close = self._head
        if chunked:
            return self._chunked(status, start, close)
        if length >= 0:
            if len(buffer) < start + length:
                return None
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            return status, payload, close
        if not self.lost:  # no length: the body runs to the end of the connection
            return None
        payload = bytes(buffer[start:])
        buffer.clear()
        return status, payload, True

    def _chunked(self, status: int, start: int, close: bool) -> tuple[int, bytes, bool] | None:
        buffer = self._buffer
        parts: list[bytes] = []
        position = start
        while True:
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                return None
            size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
            if size == 0:
                trailer_end = buffer.find(b"\r\n", line_end + 2)
                if trailer_end < 0:
                    return None
                del buffer[: trailer_end + 2]
                return status, b"".join(parts), close
            chunk_start = line_end + 2
            if len(buffer) < chunk_start + size + 2:
                return None
            parts.append(bytes(buffer[chunk_start : chunk_start + size]))
            position = chunk_start + size + 2


class HttpConnection:
    """A persistent connection; reconnects lazily after an error or ``Connection: close``.

    The response is read by a protocol (no stream objects) and the timeout is one timer per request, not a
    task: the client's cost per request is a small share of the service's.
    """

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._protocol: _Response | None = None
        self._host_header = f"Host: {host}:{port}\r\n".encode()

    async def request(self, method: str, path: str, body: bytes | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send one request and return ``(status, body)``; raises ``OSError``/``asyncio`` errors on failure."""
        loop = asyncio.get_running_loop()
        try:
            protocol = self._protocol
            if protocol is None or protocol.lost:
                protocol = self._protocol = await self._connect(loop)
            assert protocol.transport is not None
            head = f"{method} {path} HTTP/1.1\r\n".encode() + self._host_header
            if headers:
                head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
            if body is None:
                protocol.transport.write(head + b"\r\n")
            else:
                protocol.transport.write(head + b"Content-Type: application/json\r\nContent-Length: "
                                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            waiter: asyncio.Future[tuple[int, bytes, bool]] = loop.create_future()
            timer = loop.call_later(self.timeout, _expire, waiter)
            protocol.expect(waiter)
            try:
                status, payload, close = await waiter
            finally:
                timer.cancel()
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, payload

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Response:
        _, protocol = await asyncio.wait_for(loop.create_connection(_Response, self.host, self.port), self.timeout)
        return protocol

    def close(self) -> None:
        """Drop the connection (the next request reconnects)."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None


def _expire(waiter: asyncio.Future[tuple[int, bytes, bool]]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no response within the timeout"))
