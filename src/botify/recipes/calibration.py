"""``botify demo --calibration``: world → real HTTP service → one day of Random vs StickyArtist vs TopPop → report.

No training: the quickest check that the whole loop (service, simulator over HTTP, logs, analysis) works.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from botify.ab.analyze import Analysis, analyze_logs
from botify.experiments import DEFAULT_PLAN, load_experiments
from botify.recipes import CONCURRENCY, PIPELINE
from botify.recipes.day import ensure_world, http_day
from botify.recipes.report import write_reports
from botify.sim.world import load_sim_world
from botify.world.catalog import load_catalog

__all__ = ["CalibrationOptions", "run_calibration"]


@dataclass(frozen=True)
class CalibrationOptions:
    """Parameters of the calibration day."""

    world_dir: Path = Path("worlds/default")
    out: Path = Path("runs/demo")
    episodes: int = 20_000
    seed: int = 31337
    concurrency: int = CONCURRENCY
    pipeline: int = PIPELINE
    workers: int = 1
    experiment: Path = DEFAULT_PLAN


def run_calibration(options: CalibrationOptions, console: Console) -> Analysis:
    """Run the day and write ``out/report.md`` and ``out/report.html``; return the analysis."""
    started = time.perf_counter()
    ensure_world(options.world_dir, console)
    console.print(f"[1/4] world: {options.world_dir}")
    plan = load_experiments(options.experiment)
    log_dir = options.out / "logs"
    http_day(load_sim_world(options.world_dir), options.world_dir, config=options.experiment, log_dir=log_dir,
             episodes=range(options.episodes), seed=options.seed, console=console, label="[2-3/4]",
             concurrency=options.concurrency, pipeline=options.pipeline, workers=options.workers)
    analysis = analyze_logs([log_dir], plan.routing.name, metrics_plan=plan.metrics)
    total = time.perf_counter() - started
    report = write_reports(
        options.out, analysis, plan, title="Botify calibration", console=console,
        footer=(f"{options.episodes:,} episodes, seed {options.seed}, concurrency {options.concurrency}, "
                f"world {options.world_dir}; {total:.0f} s end to end."),
        context={"world": options.world_dir, "world seed": load_catalog(options.world_dir).manifest.get("seed", "?"),
                 "episodes": options.episodes, "seed": options.seed, "concurrency": options.concurrency,
                 "pipeline": options.pipeline, "workers": options.workers})
    console.print(f"[4/4] report written to {report} and report.html ({total:.0f} s end to end)")
    return analysis
