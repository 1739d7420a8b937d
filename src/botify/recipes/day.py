"""One simulated day over real HTTP: start the service, play episodes with the remote agent, stop gracefully."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from botify.recipes import CONCURRENCY, PIPELINE
from botify.service.process import ServiceProcess
from botify.sim.agents.remote import RemoteAgent
from botify.sim.engine import SessionResults
from botify.sim.run import summarize_day
from botify.sim.world import SimWorld
from botify.world.catalog import CATALOG_DIR
from botify.world.config import WorldConfig
from botify.world.generate import write_world

__all__ = ["ensure_world", "http_day"]


def ensure_world(world_dir: Path, console: Console) -> None:
    """Generate the default world (seed 0) in ``world_dir`` unless a catalog is already there."""
    if not (world_dir / CATALOG_DIR).is_dir():
        with console.status(f"generating the default world in {world_dir}"):
            write_world(world_dir, WorldConfig(), seed=0)


def http_day(world: SimWorld, world_dir: Path, *, config: Path, log_dir: Path, episodes: range, seed: int,
             console: Console, label: str, concurrency: int = CONCURRENCY, pipeline: int = PIPELINE,
             workers: int = 1, artifacts: Path | None = None) -> SessionResults:
    """Serve ``config`` on a free port (fresh ``log_dir``), simulate ``episodes`` over HTTP, stop with SIGTERM."""
    shutil.rmtree(log_dir, ignore_errors=True)
    extra = ["--artifacts", str(artifacts)] if artifacts is not None else []
    with console.status(f"{label}: starting the service"):
        service = ServiceProcess(world_dir, config=config, log_dir=log_dir, workers=workers,
                                 extra_args=extra).start()
    try:
        console.print(f"{label}: service up at {service.url} (logs in {log_dir})")
        agent = RemoteAgent(world, service.url, concurrency=concurrency, pipeline=pipeline)
        with Progress(TextColumn(f"{label}: simulating over HTTP"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("sessions", total=len(episodes))
            results = agent.play(episodes, seed=seed, progress=lambda n: bar.advance(task, n))
        console.print(f"{label}: {summarize_day(0, results).describe()}")
    finally:
        with console.status(f"{label}: stopping the service (graceful: the log is flushed)"):
            service.stop()
    return results
