"""A minimal HTTP/1.1 keep-alive client on an asyncio protocol — lean enough not to be the bottleneck.

One ``HttpConnection`` carries one simulated user's requests one after another (they are sequential), or, when
several sessions share it, their requests pipelined (HTTP/1.1): each request is written as soon as it is ready,
the requests written in one turn of the event loop leave in one ``write``, and responses are matched to requests
in order. The remote agent opens one per concurrent session, or one per ``pipeline`` sessions. Responses need
``Content-Length`` or chunked encoding.
"""

from __future__ import annotations

import asyncio
import collections
from typing import cast
from urllib.parse import urlsplit

from botify.errors import ConfigError

__all__ = ["TRANSPORT_ERRORS", "HttpConnection", "parse_base_url"]

TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError)
"""What a failed exchange raises: network errors, a cut-off response, a timeout, an unparsable response."""

_Answer = tuple[int, bytes, bool]  # status, body, the server closes after it


def parse_base_url(url: str) -> tuple[str, int]:
    """``http://host:port`` → ``(host, port)``; anything else is a ``ConfigError``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"`url` must look like http://HOST:PORT, got {url!r}")
    return parts.hostname, parts.port or 80


class _Response(asyncio.Protocol):
    """Writes a connection's requests (a turn's together) and hands each response to the oldest waiter."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiters: collections.deque[asyncio.Future[_Answer]] = collections.deque()
        self.sent_at: collections.deque[float] = collections.deque()  # the loop's time each waiter's request left
        self._buffer = bytearray()
        self._head: tuple[int, int, int, bool, bool] | None = None  # status, body start, length, chunked, close
        self._out: list[bytes] = []
        self.lost = False
        self.closing = False  # the server said Connection: close

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._complete()

    def send(self, request: bytes, waiter: asyncio.Future[_Answer]) -> None:
        """Queue ``request``; ``waiter`` gets its response ``(status, body, close)``."""
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(request)
        self.waiters.append(waiter)
        self.sent_at.append(asyncio.get_running_loop().time())

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _complete(self) -> None:
        while self.waiters:
            try:
                response = self._parse()
            except (ValueError, IndexError) as error:  # an unparsable response: nothing after it can be read
                self._fail(error)
                return
            if response is None:
                if self.lost:
                    partial = bytes(self._buffer)
                    self._fail(asyncio.IncompleteReadError(partial, None) if partial
                               else ConnectionResetError("connection closed by the server"))
                return
            self.closing = self.closing or response[2]
            self.sent_at.popleft()
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(response)

    def _fail(self, error: BaseException) -> None:
        self._buffer.clear()
        self._head = None
        self.sent_at.clear()
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    def watch(self, timeout: float) -> None:
        """Fail every request in flight once the oldest has waited ``timeout`` seconds; look again in a while.

        One watchdog per connection instead of a timer per request: a timer cost about 2 µs of the client's
        20 per request. A request times out between ``timeout`` and 1.25 × ``timeout`` after it was sent.
        """
        if self.lost or self.transport is None or self.transport.is_closing():
            return
        loop = asyncio.get_running_loop()
        if self.sent_at and loop.time() - self.sent_at[0] >= timeout:
            self._fail(TimeoutError("no response within the timeout"))
            self.transport.close()
            return
        loop.call_later(timeout / 4, self.watch, timeout)

    def _parse(self) -> _Answer | None:
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
            answer = self._chunked(status, start, close)
        elif length >= 0:
            if len(buffer) < start + length:
                return None
            answer = (status, bytes(buffer[start : start + length]), close)
            del buffer[: start + length]
        elif not self.lost:  # no length: the body runs to the end of the connection
            return None
        else:
            answer = (status, bytes(buffer[start:]), True)
            buffer.clear()
        if answer is not None:
            self._head = None
        return answer

    def _chunked(self, status: int, start: int, close: bool) -> _Answer | None:
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
    """A persistent connection that any number of coroutines may use at once (their requests are pipelined).

    It reconnects lazily after an error or ``Connection: close``. An error fails every request in flight on it
    (each caller retries); a response is read by a protocol (no stream objects) and one watchdog per connection
    times requests out (``_Response.watch``), not a task or a timer per request: the client's cost per request
    is a small share of the service's.
    """

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._protocol: _Response | None = None
        self._connecting: asyncio.Future[_Response] | None = None
        self._host_header = f"Host: {host}:{port}\r\n".encode()

    async def request(self, method: str, path: str, body: bytes | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send one request and return ``(status, body)``; raises ``OSError``/``asyncio`` errors on failure."""
        loop = asyncio.get_running_loop()
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._host_header
        if headers:
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
        if body is None:
            request = head + b"\r\n"
        else:
            request = (head + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                       + b"\r\n\r\n" + body)
        protocol = None
        try:
            protocol = await self._open(loop)
            waiter: asyncio.Future[_Answer] = loop.create_future()
            protocol.send(request, waiter)
            status, payload, close = await waiter
        except BaseException:
            if protocol is not None:
                self._drop(protocol, now=True)
            raise
        if close:
            self._drop(protocol, now=False)
        return status, payload

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Response:
        """The open connection, or a new one (requests that arrive while it connects wait for the same one)."""
        protocol = self._protocol
        if protocol is not None and not protocol.lost and not protocol.closing:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect(loop))
        connecting = self._connecting
        try:
            protocol = await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        self._protocol = protocol
        return protocol

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Response:
        _, protocol = await asyncio.wait_for(loop.create_connection(_Response, self.host, self.port), self.timeout)
        loop.call_later(self.timeout / 4, protocol.watch, self.timeout)
        return protocol

    def _drop(self, protocol: _Response, *, now: bool) -> None:
        """Send no more requests on ``protocol``'s connection.

        Close it now (an error: the requests still in flight on it fail, and their callers retry) or once its last
        response is in (``Connection: close``).
        """
        if self._protocol is protocol:
            self._protocol = None
        protocol.closing = True
        if protocol.transport is not None and (now or not protocol.waiters):
            protocol.transport.close()

    def close(self) -> None:
        """Drop the connection (the next request reconnects); requests still in flight on it fail."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None

