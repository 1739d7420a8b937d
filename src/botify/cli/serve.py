"""``botify serve``: the recommendation service."""

from __future__ import annotations

from pathlib import Path

import click

from botify.cli.common import DEFAULT_WORLD


@click.command("serve")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Experiment YAML; default: the calibration experiment.")
@click.option("--catalog", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True,
              help="World directory (only its public catalog is read).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5001, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--log-dir", type=click.Path(path_type=Path), default=Path("log"), show_default=True)
@click.option("--log-max-bytes", type=click.IntRange(min=1024), default=64 << 20, show_default=True,
              help="Rotate the event log at this size.")
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True,
              help="Where arms' artifacts (`params: {artifact: NAME}`) are loaded from.")
@click.option("--admin-token", envvar="BOTIFY_ADMIN_TOKEN", default=None,
              help="Enables POST /admin/reload for callers sending this bearer token (env BOTIFY_ADMIN_TOKEN).")
@click.option("--state", envvar="BOTIFY_STATE", default=None,
              help="Shared per-user session state: redis://127.0.0.1:6379/0, unix:///path/redis.sock?db=0, or a "
                   "Redis Cluster by some of its nodes, redis-cluster://127.0.0.1:7000,127.0.0.1:7001 "
                   "(default: in-process).")
@click.option("--server", type=click.Choice(["eager", "uvicorn"]), default="eager", show_default=True,
              help="HTTP front end: eager, the lab's own on uvloop and httptools (answers without a task per request, "
                   "a turn's answers together), or uvicorn on the same two libraries (docs/scaling.md compares "
                   "them).")
def serve(config_path: Path | None, world_dir: Path, host: str, port: int, workers: int, log_dir: Path,
          log_max_bytes: int, artifacts: Path, admin_token: str | None, state: str | None, server: str) -> None:
    """Run the recommendation service until SIGTERM/SIGINT."""
    from botify.service.server import ServeOptions
    from botify.service.server import serve as run_server

    run_server(ServeOptions(world_dir=world_dir, config=config_path, host=host, port=port, workers=workers,
                            log_dir=log_dir, log_max_bytes=log_max_bytes, artifacts=artifacts,
                            admin_token=admin_token, state=state, server=server))
