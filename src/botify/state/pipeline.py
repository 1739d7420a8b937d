"""Redis on the service's event loop: commands written to one connection, replies matched in order.

A blocking call parks a replica while Redis answers: on a busy machine every wait is a sleep and a wake-up
(tens of µs of CPU each) and no other request is served meanwhile. Here a request writes its command and
awaits the reply; other requests run in between, and one read often brings several replies. Redis answers
one connection's commands in order, so replies go to a queue of waiting futures, oldest first.

Every command is bounded by ``timeout``: a timer armed while replies are outstanding closes the connection
when the oldest has waited longer, and every waiting future gets a ``RedisError`` (as for a lost connection).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import time
from typing import Any

import hiredis

from botify.state.resp import RedisError, encode_command

__all__ = ["RedisPipeline"]


class _Protocol(asyncio.Protocol):
    def __init__(self, pipeline: RedisPipeline) -> None:
        self.pipeline = pipeline

    def data_received(self, data: bytes) -> None:
        self.pipeline._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipeline._lost(exc)


class RedisPipeline:
    """One connection on the running loop, opened on first use; ``request`` returns a future of the reply.

    A pipeline belongs to the event loop that connected it (the service has one for its lifetime).

    ``address`` is ``(host, port)`` for TCP or a path for a Unix socket; ``database`` is selected on connect.
    """

    def __init__(self, address: tuple[str, int] | str, *, database: int = 0, timeout: float = 0.05) -> None:
        self.address, self.database, self.timeout = address, database, timeout
        self._transport: asyncio.Transport | None = None
        self._reader = hiredis.Reader()
        self._waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._outgoing: list[bytes] = []

    @property
    def connected(self) -> bool:
        """Whether a connection is open (``connect`` opens one)."""
        return self._transport is not None

    async def connect(self) -> None:
        """Open the connection unless open (callers that arrive meanwhile wait for the same attempt)."""
        if self._transport is not None:
            return
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            await asyncio.shield(connecting)
        except (TimeoutError, OSError) as error:
            raise RedisError(f"Redis at {self.address}: cannot connect ({error!r})") from error
        finally:
            if self._connecting is connecting:
                self._connecting = None

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        if isinstance(self.address, str):
            opening = loop.create_unix_connection(lambda: _Protocol(self), self.address)
        else:
            opening = loop.create_connection(lambda: _Protocol(self), *self.address)
        transport, _ = await asyncio.wait_for(opening, self.timeout)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = hiredis.Reader()
        self._transport = transport
        if self.database:
            reply = await self.request("SELECT", self.database)
            if isinstance(reply, hiredis.ReplyError):
                self.close()
                raise RedisError(f"Redis at {self.address}: SELECT {self.database}: {reply}")

    def request(self, *args: bytes | str | int | float) -> asyncio.Future[Any]:
        """Write one command (the connection must be open); the future gets its reply, an error reply as a value.

        The future fails with ``RedisError`` if the connection is lost or the reply takes longer than ``timeout``.
        """
        transport = self._transport
        if transport is None:
            raise RedisError(f"Redis at {self.address}: not connected")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._outgoing:
            loop.call_soon(self._write)
        self._outgoing.append(encode_command(args))
        now = time.monotonic()
        self._waiting.append((future, now))
        if self._watchdog is None:
            self._watchdog = loop.call_at(loop.time() + self.timeout, self._watch)
        return future

    def _write(self) -> None:
        """Every command of this loop iteration in one write (one system call under load, not one each)."""
        outgoing, self._outgoing = self._outgoing, []
        if self._transport is not None:
            self._transport.write(b"".join(outgoing))

    def _received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self._waiting
        while True:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as error:
                self._fail(RedisError(f"Redis at {self.address}: {error}"))
                return
            if reply is False:
                return
            future = waiting.popleft()[0]
            if not future.done():
                future.set_result(reply)

    def _watch(self) -> None:
        """Close the connection if the oldest outstanding reply is late; else look again when it would be."""
        self._watchdog = None
        if not self._waiting:
            return
        late = time.monotonic() - self._waiting[0][1] - self.timeout
        if late >= 0:
            self._fail(RedisError(f"Redis at {self.address}: no reply within {self.timeout * 1000:.0f} ms"))
            return
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_at(loop.time() - late, self._watch)

    def _fail(self, error: RedisError) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is closed: the socket went with it
                transport.abort()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        waiting, self._waiting = self._waiting, collections.deque()
        self._outgoing = []
        for future, _ in waiting:
            if not future.done():
                future.set_exception(error)
                future.exception()  # awaiting it still raises; a write nobody awaits is not logged as unretrieved

    def _lost(self, exc: Exception | None) -> None:
        if self._transport is not None or self._waiting:
            self._fail(RedisError(f"Redis at {self.address}: connection lost ({exc or 'closed'})"))

    def close(self) -> None:
        """Drop the connection; outstanding replies fail with ``RedisError`` (the next ``connect`` reopens)."""
        self._fail(RedisError(f"Redis at {self.address}: connection closed"))
