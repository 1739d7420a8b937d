"""uvicorn's httptools protocol, sending each response's head and body in one write.

uvicorn writes a response's status line and headers when the app sends ``http.response.start`` and the body
when it sends ``http.response.body``: two ``send()`` calls. A replica killed between them leaves nginx with a
head whose body never comes; nginx has already passed the head to the client, so it cannot retry on another
replica and the client sees a cut-off response. Writes made during one turn of the event loop are joined and
sent at the end of that turn instead, so a response leaves whole or not at all.
"""

from __future__ import annotations

import asyncio
from typing import Any

from typing_extensions import override
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingTransport", "WholeResponseProtocol"]


class CoalescingTransport:
    """A transport whose writes within one event-loop turn go out as a single write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; the turn's writes are sent together when the turn ends."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        """Send what is queued, in one write."""
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        """Send what is queued, then close."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class WholeResponseProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` over a ``CoalescingTransport``."""

    @override
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
