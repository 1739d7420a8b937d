"""A local ``redis-server`` process (Debian's package): started on a port, stopped, restarted.

Persistence is off (the state is per-session and expires); the process is bound to 127.0.0.1 and also listens
on a Unix socket in its directory, which processes on the same machine reach with less kernel work per call
than loopback TCP (``local_url``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

from botify.errors import LabError
from botify.state.resp import RedisConnection, RedisError

__all__ = ["RedisServer"]

_MAX_SOCKET_PATH = 104  # sun_path holds 108 bytes on Linux, 104 on macOS


class RedisServer:
    """``with RedisServer(port, workdir) as server: ... server.url``; ``restart()`` for fault drills."""

    def __init__(self, port: int, workdir: str | Path, *, binary: str = "redis-server",
                 options: tuple[str, ...] = ()) -> None:
        found = shutil.which(binary)
        if found is None:
            raise LabError(f"{binary} not found: install Debian's redis-server (apt-get install -y redis-server)")
        self.binary, self.port, self.workdir = found, port, Path(workdir)
        self.options = options  # more command-line settings (``--cluster-enabled yes`` ...)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def socket_path(self) -> Path:
        """Where the server's Unix socket is."""
        return (self.workdir / "redis.sock").resolve()

    @property
    def local_url(self) -> str:
        """``unix:///DIR/redis.sock?db=0`` for clients on this machine (TCP when the path is too long for a socket)."""
        return f"unix://{self.socket_path}?db=0" if self._socket_fits else self.url

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir), *self._socket_options(), *self.options],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        client = RedisConnection(self.url, timeout=0.2)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise LabError(f"redis-server exited with {self.process.returncode}; see "
                                   f"{self.workdir}/redis.log")
                try:
                    client.call("PING")
                    return self
                except RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise LabError(f"redis-server did not answer on port {self.port} within {timeout:.0f} s")

    @property
    def _socket_fits(self) -> bool:
        return len(str(self.socket_path).encode()) < _MAX_SOCKET_PATH

    def _socket_options(self) -> list[str]:
        return ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"] if self._socket_fits else []

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again (every key is gone: persistence is off)."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
