"""An HTTP/1.1 front end on uvloop and httptools (libuv and llhttp, both compiled) that runs handlers eagerly.

uvicorn wraps every request in ASGI messages and a task of its own: the handler starts on the next turn of the
event loop, and the head and body go out in two writes (``protocol.py`` joins them). Here a connection parses
its bytes with httptools and, once a request is whole, starts the app's handler at once (``coro.send(None)``):
with the in-process store it runs to the end without a task and without waiting for the loop. The answers of
one turn of the event loop leave at its end (``EagerServer.flush``, as uvicorn's writes do): the turn's log
lines in one write to the log, then each connection's answers in one write to its socket, so requests that
arrive together (HTTP/1.1 pipelining: the remote agent sends several sessions' requests on one connection) are
answered together, and a client woken by the first answer is still reading when the next arrive. A handler
that awaits (Redis) goes on as a task; the connection's next request waits for it, so answers keep their order.

``botify serve`` runs it (``--server uvicorn`` runs uvicorn instead). The guarantees are uvicorn's, tested the same
way: the log line is written before the answer, a response is never split across writes, SIGTERM/SIGINT stop
accepting, finish every request already read or still arriving, close idle connections (after ``IDLE_TIMEOUT``
too) and flush the log (``BotifyApp.stopped``), and the process ends by the signal, as uvicorn's does.
A request whose head or body exceeds its limit gets 413/431 and the connection closes; a malformed one gets 400.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httptools

from botify.service.app import BotifyApp
from botify.service.openapi import MAX_BODY_BYTES

__all__ = ["EagerServer", "end_as_signalled"]

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
IDLE_TIMEOUT = 75.0  # seconds a keep-alive connection may stay idle (longer than nginx's upstream keepalive)
DRAIN_TIMEOUT = 10.0  # seconds SIGTERM waits for requests in flight, as uvicorn's timeout_graceful_shutdown

_STATUS_LINES = {status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in http.HTTPStatus}
_Request = tuple[str, str, list[tuple[bytes, bytes]], bytes, bool]  # method, path, headers, body, keep-alive


class _Connection(asyncio.Protocol):
    """One client connection: requests parsed as they arrive, answered one after another."""

    def __init__(self, server: EagerServer) -> None:
        self.server = server
        self.app = server.app
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.head_bytes = self.body_bytes = 0
        self.in_message = False  # a request's bytes are arriving
        self.queue: collections.deque[_Request] = collections.deque()
        self.busy = False  # a handler is running on a task
        self.out: list[bytes] = []  # answers that leave together when the server flushes, at the end of the turn
        self.close_after = False  # close once they are written
        self.last_active = 0.0  # the loop's time of the last bytes received (the server's sweep closes idle ones)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not asyncio.Transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)
        self.last_active = self.server.now()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.last_active = self.server.now()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as error:
            self._refuse(400, f"malformed HTTP request: {error}")

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.in_message = True
        self.url, self.headers, self.body = b"", [], []
        self.head_bytes = self.body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))
        self._count_head(len(name) + len(value))

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        if self.body_bytes > MAX_BODY_BYTES:
            self._refuse(413, f"request body exceeds the limit of {MAX_BODY_BYTES} bytes")
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.in_message = False
        if self._closing():
            return
        path = self.url.split(b"?", 1)[0].decode("latin-1")
        self.queue.append((self.parser.get_method().decode("latin-1"), path, self.headers, b"".join(self.body),
                           self.parser.should_keep_alive()))
        if not self.busy:
            self._serve_queue()

    # answering: what a turn of the event loop answers leaves at its end, after the log lines (EagerServer.flush)

    def _send(self, data: bytes, *, close: bool) -> None:
        if not self.out:  # the first answer of this turn: the server writes the connection out at its end
            self.server.pending(self)
        self.out.append(data)
        self.close_after = self.close_after or close

    def write_out(self) -> None:
        """Write the answers queued since the last flush, in one write (the server has flushed the log)."""
        out, self.out = self.out, []
        if self.transport is None or self.transport.is_closing():
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        if data:
            self.transport.write(data)
        if self.close_after:
            self.transport.close()

    def _closing(self) -> bool:
        return self.transport is None or self.transport.is_closing() or self.close_after

    def _count_head(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > MAX_HEAD_BYTES:
            self._refuse(431, f"request head exceeds {MAX_HEAD_BYTES} bytes")

    def _refuse(self, status: int, detail: str) -> None:
        """Answer a request that cannot be read, then close (the rest of its bytes mean nothing)."""
        if not self._closing():
            body = b'{"detail":"' + detail.replace('"', "'").encode("latin-1", "replace") + b'"}'
            self._send(_STATUS_LINES[status] + b"content-type: application/json\r\ncontent-length: "
                       + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body, close=True)
        self.queue.clear()

    def _serve_queue(self) -> None:
        """Answer the queued requests in order; stop at one whose handler awaits (its task goes on)."""
        while self.queue and not self._closing():
            method, path, headers, body, keep_alive = self.queue.popleft()
            started = time.perf_counter()
            scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "headers": headers,
                                     "botify.arm": ""}

            async def receive(body: bytes = body) -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            handler = self.app.answer(scope, receive, started)
            try:
                awaited = handler.send(None)
            except StopIteration as done:
                self._respond(scope, method, done.value, keep_alive, started)
                continue
            self.busy = True  # it awaits (Redis): finish it on a task, then go on with the queue
            self.server.track(asyncio.ensure_future(
                self._finish(handler, awaited, scope, method, keep_alive, started)))
            return
        self._after_answers()

    async def _finish(self, handler: Coroutine[Any, Any, tuple[int, list[tuple[bytes, bytes]], bytes]],
                      awaited: Any, scope: dict[str, Any], method: str, keep_alive: bool, started: float) -> None:
        answer = await _resume(handler, awaited)
        self.busy = False
        self._respond(scope, method, answer, keep_alive, started)
        self._serve_queue()

    def _respond(self, scope: dict[str, Any], method: str, answer: tuple[int, list[tuple[bytes, bytes]], bytes],
                 keep_alive: bool, started: float) -> None:
        status, headers, body = answer
        keep_alive = keep_alive and not self.server.stopping
        head = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n".encode()]
        head += [name + b": " + value + b"\r\n" for name, value in headers]
        head.append(b"content-length: %d\r\n" % len(body))
        if not keep_alive:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        if not self._closing():
            self._send(b"".join(head) + (b"" if method == "HEAD" else body), close=not keep_alive)
        self.app.observe(scope, status, started)

    def _after_answers(self) -> None:
        """Nothing left to answer: close if the server is stopping and no request is arriving."""
        if not self.in_message and self.server.stopping:
            self._send(b"", close=True)

    def idle(self) -> bool:
        """No request arriving, queued, being answered or waiting to be written."""
        return not self.in_message and not self.busy and not self.queue and not self.out


async def _resume(handler: Coroutine[Any, Any, Any], awaited: Any) -> Any:
    """Drive a coroutine that ran to a suspension on its own: what a task would have done next.

    ``awaited`` is what it yielded: an asyncio future it waits for (a Redis reply), or ``None`` for a bare turn
    of the loop. Wait for that here, then send the coroutine on; it reads the future's result (or exception) itself.
    """
    while True:
        if awaited is None:
            await asyncio.sleep(0)
        else:
            awaited._asyncio_future_blocking = False  # as a task does with what its coroutine yields
            with contextlib.suppress(BaseException):  # the handler's own await re-raises the future's error
                await awaited
        try:
            awaited = handler.send(None)
        except StopIteration as done:
            return done.value


class EagerServer:
    """Serve ``app`` on ``host:port`` (or an already bound ``sock``) until ``stop()``; then drain and return."""

    def __init__(self, app: BotifyApp) -> None:
        self.app = app
        app.hold_log()  # its lines wait for the flush that writes their answers
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Future[None]] = set()
        self.stopping = False
        self.stopped_by: int | None = None  # the signal that stopped the server
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[_Connection] = []  # connections with answers to write at the end of this turn

    def now(self) -> float:
        """The event loop's clock (idle connections are swept by it)."""
        return self._loop.time() if self._loop is not None else 0.0

    def _sweep(self) -> None:
        """Close the connections idle for longer than ``IDLE_TIMEOUT``; look again in a while."""
        assert self._loop is not None
        oldest = self._loop.time() - IDLE_TIMEOUT
        for connection in list(self.connections):
            if connection.idle() and connection.last_active < oldest and connection.transport is not None:
                connection.transport.close()
        self._loop.call_later(IDLE_TIMEOUT / 5, self._sweep)

    def pending(self, connection: _Connection) -> None:
        """``connection`` has its first answers of this turn to write: flush at the end of the turn."""
        if not self._waiting:
            asyncio.get_running_loop().call_soon(self.flush)
        self._waiting.append(connection)

    def flush(self) -> None:
        """Write the turn's log lines (one write), then each waiting connection's answers (one write each).

        Deferring the answers to the end of the turn answers every request read in it together: a client woken
        by the first answer is still reading when the others arrive, and the log takes one write per turn.
        """
        waiting, self._waiting = self._waiting, []
        self.app.flush_log()  # the log lines first: a kill -9 loses no answered request
        for connection in waiting:
            connection.write_out()

    def track(self, task: asyncio.Future[None]) -> None:
        """Keep a handler's task until it ends (SIGTERM waits for it)."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def stop(self, sig: int | None = None) -> None:
        """Stop accepting; finish what was read (from a signal handler, on the server's loop)."""
        self.stopped_by = self.stopped_by or sig
        if self._stop is not None:
            self._stop.set()

    async def serve(self, sock: socket.socket, *, stopped_early: Callable[[], int] = lambda: 0) -> None:
        """Accept on ``sock`` until stopped (SIGTERM/SIGINT), then drain: see the module docstring.

        ``stopped_early()`` is the signal that came while the process was still starting (0: none): it stops
        once started.
        """
        loop = self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        loop.call_later(IDLE_TIMEOUT / 5, self._sweep)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig)
        server = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=4096)
        self.app.started()
        if stopped_early():
            self.stop(stopped_early())
        await self._stop.wait()
        self.stopping = True
        server.close()
        for connection in list(self.connections):
            if connection.idle() and connection.transport is not None:
                connection.transport.close()
        deadline = loop.time() + DRAIN_TIMEOUT
        while (self.tasks or any(not c.idle() for c in self.connections)) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        self.app.stopped()


def end_as_signalled(sig: int | None) -> None:
    """End the process by the signal that stopped it, as uvicorn does: its exit status says SIGTERM, not 0."""
    if sig:
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
