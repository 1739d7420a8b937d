"""``botify demo``: world → real HTTP service → simulated day over HTTP → logs → A/B table and report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from botify.ab.analyze import Analysis, analyze_logs
from botify.ab.html import render_html
from botify.ab.table import render_rich
from botify.day import ensure_world, http_day
from botify.experiments import load_experiments
from botify.sim.world import load_sim_world

__all__ = ["DemoOptions", "run_demo"]

CALIBRATION = Path(__file__).parent / "data" / "calibration.yml"


@dataclass(frozen=True)
class DemoOptions:
    """Parameters of the demo run."""

    world_dir: Path = Path("worlds/default")
    out: Path = Path("runs/demo")
    episodes: int = 20_000
    seed: int = 31337
    concurrency: int = 16
    workers: int = 1
    experiment: Path = CALIBRATION


def run_demo(options: DemoOptions, console: Console) -> Analysis:
    """Run the whole loop and write ``out/report.md``; return the analysis."""
    started = time.perf_counter()
    ensure_world(options.world_dir, console)
    console.print(f"[1/4] world: {options.world_dir}")
    plan = load_experiments(options.experiment)
    log_dir = options.out / "logs"
    http_day(load_sim_world(options.world_dir), options.world_dir, config=options.experiment, log_dir=log_dir,
             episodes=range(options.episodes), seed=options.seed, console=console, label="[2-3/4]",
             concurrency=options.concurrency, workers=options.workers)
    analysis = analyze_logs([log_dir], plan.routing.name)
    arms = ", ".join(f"{a.label}={a.recommender}" for a in plan.routing.arms)
    console.print(render_rich(analysis.rows, title=f"{plan.routing.name} ({arms})"))
    console.print(analysis.read.describe())
    console.print(analysis.srm.describe())
    report = options.out / "report.md"
    report.write_text(analysis.markdown(f"Botify demo: {plan.routing.name} ({arms})") +
                      f"\n{options.episodes} episodes, seed {options.seed}, concurrency {options.concurrency}, "
                      f"world {options.world_dir}; {time.perf_counter() - started:.0f} s end to end.\n")
    (options.out / "report.html").write_text(render_html(analysis, f"Botify demo: {plan.routing.name}", {
        "arms": arms, "episodes": options.episodes, "seed": options.seed, "concurrency": options.concurrency,
        "world": options.world_dir, "world seed": 0}))
    console.print(f"[4/4] report written to {report} and report.html ({time.perf_counter() - started:.0f} s end "
                  "to end)")
    return analysis
