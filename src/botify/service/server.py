"""Run the service with uvicorn (uvloop + httptools), one process or several sharing the port.

Several workers are uvicorn's own worker processes; each builds its app from ``BOTIFY_*`` environment
variables (``app_from_env``) and writes its own log file ``data-<pid>.json`` in the log directory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from botify.errors import ConfigError
from botify.experiments import BUNDLED, ExperimentPlan, load_experiments
from botify.recommenders.registry import build_plan_recommenders
from botify.service.app import BotifyApp
from botify.service.protocol import WholeResponseProtocol
from botify.state import InMemoryStore, StateStore
from botify.world.catalog import load_catalog

__all__ = ["ServeOptions", "app_from_env", "serve"]

_DEFAULT_PLAN = BUNDLED / "calibration.yml"


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


def _plan(config: Path | None) -> ExperimentPlan:
    return load_experiments(config or _DEFAULT_PLAN)


def make_store(url: str | None, *, workers: int = 1) -> StateStore | None:
    """``None`` (in-process) or a Redis store for ``redis://HOST:PORT/DB``.

    Several workers without Redis each keep their own counters: their log lines say so (``epoch`` null), and the
    analysis orders those users' lines by timestamp.
    """
    if not url:
        return None if workers == 1 else InMemoryStore(exact=False)
    if not url.startswith(("redis://", "unix://")):
        raise ConfigError(f"`--state` must be a redis:// URL, got {url!r}")
    from botify.state.redis import RedisStore

    return RedisStore(url)


def _single_threaded_math() -> None:
    """One BLAS/OpenMP thread: requests are small, and a thread pool per call costs more than the math."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def app_from_env() -> BotifyApp:
    """Build the app from ``BOTIFY_*`` variables (uvicorn's worker processes call this)."""
    _single_threaded_math()
    config = os.environ.get("BOTIFY_CONFIG") or None
    log_dir = os.environ.get("BOTIFY_LOG_DIR") or None
    workers = int(os.environ.get("BOTIFY_WORKERS", "1"))
    return BotifyApp(
        load_catalog(os.environ["BOTIFY_WORLD"]),
        _plan(Path(config) if config else None),
        log_dir=log_dir,
        log_filename="data.json" if workers == 1 else f"data-{os.getpid()}.json",
        log_max_bytes=int(os.environ.get("BOTIFY_LOG_MAX_BYTES", str(64 << 20))),
        artifacts=os.environ.get("BOTIFY_ARTIFACTS") or None,
        admin_token=os.environ.get("BOTIFY_ADMIN_TOKEN") or None,
        store=make_store(os.environ.get("BOTIFY_STATE"), workers=workers),
    )


def serve(options: ServeOptions) -> None:
    """Run until SIGTERM/SIGINT; the log is flushed on the way out."""
    common = {"host": options.host, "port": options.port, "loop": "uvloop", "http": WholeResponseProtocol,
              "lifespan": "on", "access_log": False, "log_level": "warning", "timeout_graceful_shutdown": 10}
    if options.workers == 1:
        _single_threaded_math()
        app = BotifyApp(load_catalog(options.world_dir), _plan(options.config), log_dir=options.log_dir,
                        log_max_bytes=options.log_max_bytes, artifacts=options.artifacts,
                        admin_token=options.admin_token, store=make_store(options.state))
        uvicorn.run(app, **common)  # type: ignore[arg-type]
        return
    if not options.state:
        print("note: with several workers and the in-process state store, each worker keeps its own per-user "
              "session counters; runs are reproducible with --workers 1 or --state redis://...", file=sys.stderr)
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
    # fail fast on a bad file or plugin, before forking workers
    build_plan_recommenders(_plan(options.config), load_catalog(options.world_dir), artifacts=options.artifacts)
    uvicorn.run("botify.service.server:app_from_env", factory=True, workers=options.workers,
                **common)  # type: ignore[arg-type]
