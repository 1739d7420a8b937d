"""``botify cluster up/down`` and ``botify logs collect``: the production topology on this machine."""

from __future__ import annotations

from pathlib import Path

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console
from botify.errors import ConfigError


@click.group(cls=LabGroup)
def cluster() -> None:
    """The production topology on this machine: Redis, service replicas and nginx."""


@cluster.command("up")
@click.option("--replicas", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5001, show_default=True, help="nginx's port.")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("runs/cluster"), show_default=True)
@click.option("--catalog", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
@click.option("--artifacts", type=click.Path(path_type=Path), default=None)
@click.option("--redis-shards", type=click.IntRange(min=0), default=0, show_default=True,
              help="Keep the state on a Redis Cluster of this many masters (0: one Redis).")
@click.option("--redis-replicas", type=click.IntRange(min=0), default=0, show_default=True,
              help="Replicas per Redis Cluster master (a killed master is failed over to one).")
@click.option("--server", type=click.Choice(["eager", "uvicorn"]), default="eager", show_default=True,
              help="The replicas' HTTP front end (botify serve --server).")
def cluster_up(replicas: int, port: int, workdir: Path, world_dir: Path, config_path: Path | None,
               artifacts: Path | None, redis_shards: int, redis_replicas: int, server: str) -> None:
    """Start Redis (or a Redis Cluster), the replicas and nginx in the background (`botify cluster down` stops them)."""
    from botify.cluster.topology import Cluster, ClusterSpec

    if (workdir / "cluster.json").exists():
        raise ConfigError(f"a cluster is already recorded in {workdir}; run `botify cluster down --dir {workdir}`")
    if redis_replicas and not redis_shards:
        raise ConfigError("--redis-replicas needs --redis-shards N (replicas belong to Redis Cluster masters)")
    running = Cluster(ClusterSpec(world_dir=world_dir, workdir=workdir, replicas=replicas, port=port,
                                  config=config_path, artifacts=artifacts, redis_shards=redis_shards,
                                  redis_replicas=redis_replicas, server=server), detach=True).up()
    console.print(f"cluster up: nginx {running.url} -> replicas on ports {running.replica_ports}, Redis "
                  f"{running.state_url}; logs in {workdir}/replicaN/log")


@cluster.command("down")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("runs/cluster"), show_default=True)
def cluster_down(workdir: Path) -> None:
    """Stop nginx (graceful), the replicas (SIGTERM: logs flushed) and Redis."""
    from botify.cluster.topology import Cluster

    for stopped in Cluster.stop_recorded(workdir):
        console.print(f"stopped {stopped}")


@click.group(cls=LabGroup)
def logs() -> None:
    """Service logs."""


@logs.command("collect")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("runs/cluster"), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def logs_collect(workdir: Path, out: Path) -> None:
    """Copy every replica's log files (rotated ones too) to OUT/replicaN/ (the reference's `docker cp` step)."""
    import shutil

    copied = 0
    for log_dir in sorted(workdir.glob("replica*/log")):
        target = out / log_dir.parent.name
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(log_dir.iterdir()):
            if path.is_file():
                shutil.copy2(path, target / path.name)
                copied += 1
    if copied == 0:
        raise ConfigError(f"no replica logs under {workdir}/replica*/log")
    console.print(f"copied {copied} log file(s) to {out}")
