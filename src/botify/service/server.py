"""Run the service, one process or several sharing the port, on one of two HTTP front ends.

``server="eager"`` (the default) is the lab's own HTTP/1.1 front end on uvloop and httptools (``eager.py``);
``server="uvicorn"`` is uvicorn on the same two libraries (with ``protocol.py``'s one write per response). Each
process builds the service once. With one worker, the app built (and checked: plan, plugins' probes, artifacts,
state URL) is the app served. With several, the parent checks the plan's recommenders and the state URL once, then
starts the worker processes (uvicorn's own, or ``eager_worker`` processes sharing the parent's listening socket);
each builds its app from ``BOTIFY_*`` environment variables (``app_from_env``) and writes its own log file
``data-<pid>.json`` in the log directory.
The service logs through ``logging`` (logger ``botify.service``) to stderr: its start-up facts and the traceback
of every 500.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from botify.errors import ConfigError
from botify.experiments import plan_or_default
from botify.recommenders.registry import build_plan_recommenders
from botify.service.app import BotifyApp
from botify.service.protocol import WholeResponseProtocol
from botify.state import InMemoryStore, StateStore
from botify.world.catalog import load_catalog

__all__ = ["SERVERS", "ServeOptions", "app_from_env", "build_app", "eager_worker", "serve"]

logger = logging.getLogger("botify.service")


@dataclass(frozen=True)
class ServeOptions:
    """What ``botify serve`` was asked for."""

    world_dir: Path
    config: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 1
    log_dir: Path | None = Path("log")
    log_max_bytes: int = 64 << 20
    artifacts: Path | None = None
    admin_token: str | None = None
    state: str | None = None
    server: str = "eager"

    def __post_init__(self) -> None:
        if self.server not in SERVERS:
            raise ConfigError(f"`server` must be one of {list(SERVERS)}, got {self.server!r}")


SERVERS = ("eager", "uvicorn")
"""The HTTP front ends ``botify serve --server`` offers."""


def make_store(url: str | None, *, workers: int = 1) -> StateStore | None:
    """``None`` (in-process) or a Redis store for ``redis://HOST:PORT/DB``, ``unix://`` or ``redis-cluster://``.

    Several workers without Redis each keep their own counters: their log lines say so (``epoch`` null), and the
    analysis orders those users' lines by timestamp.
    """
    if not url:
        return None if workers == 1 else InMemoryStore(exact=False)
    if not url.startswith(("redis://", "unix://", "redis-cluster://")):
        raise ConfigError(f"`--state` must be a redis://, unix:// or redis-cluster:// URL, got {url!r}")
    from botify.state.redis import RedisStore

    return RedisStore(url)


def log_to_stderr() -> None:
    """Send the ``botify`` loggers' records (INFO and up) to stderr with a time stamp, once per process."""
    root = logging.getLogger("botify")
    if not any(getattr(handler, "botify_service", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.botify_service = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def _single_threaded_math() -> None:
    """One BLAS/OpenMP thread: requests are small, and a thread pool per call costs more than the math."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def app_from_env() -> BotifyApp:
    """Build the app from ``BOTIFY_*`` variables (uvicorn's worker processes call this)."""
    log_to_stderr()
    _single_threaded_math()

    def path(name: str) -> Path | None:
        value = os.environ.get(name)
        return Path(value) if value else None

    options = ServeOptions(world_dir=Path(os.environ["BOTIFY_WORLD"]), config=path("BOTIFY_CONFIG"),
                           workers=int(os.environ.get("BOTIFY_WORKERS", "1")), log_dir=path("BOTIFY_LOG_DIR"),
                           log_max_bytes=int(os.environ.get("BOTIFY_LOG_MAX_BYTES", str(64 << 20))),
                           artifacts=path("BOTIFY_ARTIFACTS"), admin_token=os.environ.get("BOTIFY_ADMIN_TOKEN") or None,
                           state=os.environ.get("BOTIFY_STATE") or None)
    return build_app(options)


def build_app(options: ServeOptions) -> BotifyApp:
    """One process's service: catalog, plan, recommenders (plugins probed), artifacts and store, or an error.

    With several workers each process writes its own log file, ``data-<pid>.json``.
    """
    log_filename = "data.json" if options.workers == 1 else f"data-{os.getpid()}.json"
    return BotifyApp(load_catalog(options.world_dir), plan_or_default(options.config), log_dir=options.log_dir,
                     log_filename=log_filename, log_max_bytes=options.log_max_bytes, artifacts=options.artifacts,
                     admin_token=options.admin_token, store=make_store(options.state, workers=options.workers))


def serve(options: ServeOptions) -> None:
    """Check everything, then run until SIGTERM/SIGINT; the log is flushed on the way out.

    Every mistake in the options (a bad file, plugin, artifact or state URL) raises before anything is served.
    """
    log_to_stderr()
    if options.server == "eager":
        _serve_eager(options)
        return
    common = {"host": options.host, "port": options.port, "loop": "uvloop", "http": WholeResponseProtocol,
              "lifespan": "on", "access_log": False, "log_level": "warning", "timeout_graceful_shutdown": 10}
    if options.workers == 1:
        _single_threaded_math()
        uvicorn.run(build_app(options), **common)  # type: ignore[arg-type]
        return
    _check_before_workers(options)
    uvicorn.run("botify.service.server:app_from_env", factory=True, workers=options.workers,
                **common)  # type: ignore[arg-type]


def _check_before_workers(options: ServeOptions) -> None:
    """Build what every worker will build once, so that a mistake stops here; pass the options to the workers."""
    make_store(options.state, workers=options.workers)
    build_plan_recommenders(plan_or_default(options.config), load_catalog(options.world_dir),
                            artifacts=options.artifacts)
    if not options.state:
        logger.warning("with several workers and the in-process state store, each worker keeps its own per-user "
                       "session counters; runs are reproducible with --workers 1 or --state redis://...")
    os.environ.update({
        "BOTIFY_WORLD": str(options.world_dir),
        "BOTIFY_CONFIG": str(options.config or ""),
        "BOTIFY_LOG_DIR": str(options.log_dir or ""),
        "BOTIFY_WORKERS": str(options.workers),
        "BOTIFY_LOG_MAX_BYTES": str(options.log_max_bytes),
        "BOTIFY_ARTIFACTS": str(options.artifacts or ""),
        "BOTIFY_ADMIN_TOKEN": options.admin_token or "",
        "BOTIFY_STATE": options.state or "",
    })


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    sock.listen(4096)
    return sock


def _serve_eager(options: ServeOptions) -> None:
    """One process serving on the eager front end, or worker processes sharing this process's socket."""
    import uvloop

    from botify.service.eager import EagerServer, end_as_signalled

    if options.workers == 1:
        _single_threaded_math()
        server = EagerServer(build_app(options))
        uvloop.run(server.serve(_listening_socket(options.host, options.port)))
        end_as_signalled(server.stopped_by)
        return
    _check_before_workers(options)
    sock = _listening_socket(options.host, options.port)
    os.set_inheritable(sock.fileno(), True)
    command = [sys.executable, "-c", f"from botify.service.server import eager_worker; eager_worker({sock.fileno()})"]
    workers = [subprocess.Popen(command, pass_fds=(sock.fileno(),)) for _ in range(options.workers)]

    received: list[int] = []

    def forward(sig: int, _: object) -> None:
        received.append(sig)
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(sig)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    for worker in workers:
        worker.wait()
    sock.close()
    end_as_signalled(received[0] if received else None)


def eager_worker(fd: int) -> None:
    """A worker process of ``botify serve --server eager --workers N``: serve on the inherited socket ``fd``."""
    import uvloop

    from botify.service.eager import EagerServer, end_as_signalled

    signals: list[int] = []  # a SIGTERM while the app is still being built stops it once it serves
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _: signals.append(number))
    server = EagerServer(app_from_env())
    uvloop.run(server.serve(socket.socket(fileno=fd), stopped_early=lambda: signals[0] if signals else 0))
    end_as_signalled(server.stopped_by)
