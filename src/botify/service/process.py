"""Run ``botify serve`` as a child process on a free loopback port: start, wait until ready, stop gracefully."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from botify.errors import LabError

__all__ = ["ServiceProcess", "free_port"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """``with ServiceProcess(world_dir, config=..., log_dir=...) as service: service.url``.

    On exit the service gets SIGTERM (graceful: in-flight requests finish, the log is flushed) and is waited for.
    """

    def __init__(self, world_dir: str | Path, *, config: str | Path | None = None, log_dir: str | Path | None = None,
                 workers: int = 1, port: int | None = None, extra_args: list[str] | None = None,
                 startup_timeout: float = 60.0, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [sys.executable, "-m", "botify.cli", "serve", "--catalog", str(world_dir),
                        "--port", str(self.port), "--workers", str(workers)]
        if config is not None:
            self.command += ["--config", str(config)]
        if log_dir is not None:
            self.command += ["--log-dir", str(log_dir)]
        self.command += extra_args or []
        self.startup_timeout = startup_timeout
        self.env = env  # the child's environment (default: this process's)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        """Start and wait until ``GET /`` answers."""
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.stop()
                raise LabError(f"the service did not start ({' '.join(self.command)}):\n{output}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> str:
        """Send ``sig`` (SIGTERM: graceful), wait, and return what the process printed."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        self.process = None
        return output.decode(errors="replace")

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
