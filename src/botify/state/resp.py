"""A lean Redis connection: RESP requests over one socket, replies parsed by ``hiredis`` (Redis's own C parser).

The state store calls Redis once per request on the service's hot path; a general client's per-call Python
(connection pool, command objects, callbacks) cost several times the round trip itself. This keeps one
connection, encodes the command in one ``bytes.join`` and reconnects after any error.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from typing import Any
from urllib.parse import urlparse

import hiredis

from botify.errors import ConfigError

__all__ = ["RedisConnection", "RedisError", "encode_command"]


class RedisError(Exception):
    """Redis unreachable, timed out, or answered with an error."""


def encode_command(args: tuple[bytes | str | int | float, ...]) -> bytes:
    """One command in RESP: an array of bulk strings."""
    raws = [arg if type(arg) is bytes else str(arg).encode() for arg in args]
    return b"*%d\r\n" % len(raws) + b"".join([b"$%d\r\n%b\r\n" % (len(raw), raw) for raw in raws])


class RedisConnection:
    """``redis://HOST:PORT/DB`` or ``unix:///path.sock?db=N``; ``call`` sends one command and returns its reply."""

    def __init__(self, url: str, *, timeout: float = 0.25) -> None:
        parsed = urlparse(url)
        if parsed.scheme == "redis":
            self.address: tuple[str, int] | str = (parsed.hostname or "127.0.0.1", parsed.port or 6379)
            self._family = socket.AF_INET
            db = parsed.path.strip("/") or "0"
        elif parsed.scheme == "unix":
            self.address, self._family = parsed.path, socket.AF_UNIX
            db = dict(p.split("=", 1) for p in parsed.query.split("&") if "=" in p).get("db", "0")
        else:
            raise ConfigError(f"a Redis URL looks like redis://HOST:PORT/DB or unix:///path?db=N, got {url!r}")
        if not db.isdigit():
            raise ConfigError(f"the Redis database must be a number, got {db!r} in {url!r}")
        self.db, self.timeout = int(db), timeout
        self._socket: socket.socket | None = None
        self._reader = hiredis.Reader()
        self._lock = threading.Lock()
        self._scripts: dict[str, bytes] = {}
        self._unread = 0
        self.deferred_errors = 0

    def _connect(self) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.address)
            if self._family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            sock.close()
            raise
        self._socket, self._reader, self._unread = sock, hiredis.Reader(), 0
        if self.db:
            self._roundtrip(encode_command(("SELECT", self.db)))
        return sock

    def _roundtrip(self, request: bytes) -> Any:
        sock = self._socket
        assert sock is not None
        sock.sendall(request)
        self._read_deferred(sock)  # replies of commands sent without waiting come first
        return self._read(sock)

    def _read_deferred(self, sock: socket.socket) -> None:
        """Read the replies of every command sent without waiting; count the errors among them."""
        while self._unread:
            self._unread -= 1
            if isinstance(self._read(sock), hiredis.ReplyError):
                self.deferred_errors += 1

    def _read(self, sock: socket.socket) -> Any:
        while True:
            reply = self._reader.gets()
            if reply is not False:
                return reply
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("Redis closed the connection")
            self._reader.feed(chunk)

    def call(self, *args: bytes | str | int | float) -> Any:
        """Send one command, return its reply; ``RedisError`` if Redis is down or answers an error."""
        reply = self.request(*args)
        if isinstance(reply, hiredis.ReplyError):
            raise RedisError(str(reply))
        return reply

    def request(self, *args: bytes | str | int | float) -> Any:
        """Send one command, return its reply, an error reply as a ``hiredis.ReplyError`` value.

        ``RedisError`` only if Redis is unreachable or the connection broke (it is then closed).
        """
        with self._lock:
            try:
                if self._socket is None:
                    self._connect()
                return self._roundtrip(encode_command(args))
            except (OSError, hiredis.ProtocolError) as error:
                self.close()
                raise RedisError(f"Redis at {self.address}: {error}") from error

    def send(self, *args: bytes | str | int | float) -> None:
        """Send one command without waiting for its reply (read, and counted if an error, by the next ``call``).

        The command leaves this process before ``send`` returns, and Redis runs one connection's commands in
        order; the service uses it for the state written after an answer is computed.
        """
        with self._lock:
            try:
                if self._socket is None:
                    self._connect()
                assert self._socket is not None
                self._socket.sendall(encode_command(args))
                self._unread += 1
            except OSError as error:
                self.close()
                raise RedisError(f"Redis at {self.address}: {error}") from error

    def drain(self) -> None:
        """Wait for the replies of every command sent without waiting (``RedisError`` if Redis is gone).

        Another connection's command may overtake a pipelined one (Redis serves its connections in the order
        its poll returns them), so a write that another client must see is drained before that client can ask.
        """
        with self._lock:
            if not self._unread:
                return
            try:
                assert self._socket is not None
                self._read_deferred(self._socket)
            except (OSError, hiredis.ProtocolError) as error:
                self.close()
                raise RedisError(f"Redis at {self.address}: {error}") from error

    def script(self, source: str) -> str:
        """Register a Lua script; returns the name for ``evalsha``."""
        sha = hashlib.sha1(source.encode()).hexdigest()
        self._scripts[sha] = source.encode()
        return sha

    def script_source(self, sha: str) -> bytes:
        """The source of a script registered with ``script``."""
        return self._scripts[sha]

    def evalsha(self, sha: str, keys: list[str], args: tuple[bytes | str | int | float, ...] = ()) -> Any:
        """Run a registered script (loading it again if Redis restarted and forgot it)."""
        try:
            return self.call("EVALSHA", sha, len(keys), *keys, *args)
        except RedisError as error:
            if "NOSCRIPT" not in str(error):
                raise
            self.call("SCRIPT", "LOAD", self._scripts[sha])
            return self.call("EVALSHA", sha, len(keys), *keys, *args)

    def close(self) -> None:
        """Drop the connection (the next call reconnects)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
