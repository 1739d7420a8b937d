"""A minimal HTTP/1.1 keep-alive client on asyncio streams — lean enough not to be the bottleneck.

One ``HttpConnection`` carries one request at a time (as one simulated user's requests are sequential);
the remote agent opens one per concurrent session. Responses need ``Content-Length`` or chunked encoding.
"""

from __future__ import annotations

import asyncio
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


class HttpConnection:
    """A persistent connection; reconnects lazily after an error or ``Connection: close``."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._host_header = f"Host: {host}:{port}\r\n".encode()

    async def request(self, method: str, path: str, body: bytes | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send one request and return ``(status, body)``; raises ``OSError``/``asyncio`` errors on failure."""
        try:
            return await asyncio.wait_for(self._exchange(method, path, body, headers), self.timeout)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, method: str, path: str, body: bytes | None,
                        headers: dict[str, str] | None) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._host_header
        if headers:
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
        if body is None:
            writer.write(head + b"\r\n")
        else:
            writer.write(head + b"Content-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            head_bytes = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if not error.partial:
                raise ConnectionResetError("connection closed by the server") from None
            raise
        status_line, *header_lines = head_bytes[:-4].split(b"\r\n")
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
        if chunked:
            payload = await self._read_chunked(reader)
        elif length >= 0:
            payload = await reader.readexactly(length)
        else:
            payload = await reader.read()
            close = True
        if close:
            self.close()
        return status, payload

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readline()

    def close(self) -> None:
        """Drop the connection (the next request reconnects)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
