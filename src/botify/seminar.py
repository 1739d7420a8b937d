"""Recipes over real HTTP: the seminar table (``botify seminar``) and the report's experiment (``botify demo``).

World → collection day (exploration mix: Random, StickyArtist, TopPop) → train models from its logs → an A/B
day of an experiment file → the treatment × metric table, ``report.md`` and ``report.html``. The seminar trains
TopPop, ALS, DSSM, Contextual and diverse Contextual for a 7-way day against Random; the report's experiment
trains DSSM and Contextual for DSSM (control) vs the report's custom recommender.
"""

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
from botify.recommenders.registry import check_plan_classes
from botify.sim.world import load_sim_world
from botify.train.dataset import load_interactions
from botify.train.pipeline import train_model
from botify.world.catalog import load_catalog

__all__ = ["REPORT_MODELS", "SEMINAR_MODELS", "SeminarOptions", "run_seminar"]

DATA = Path(__file__).parent / "data"
SEMINAR_MODELS = ("toppop", "als", "dssm", "contextual", "contextual-diverse")
REPORT_MODELS = ("dssm", "contextual")


@dataclass(frozen=True)
class SeminarOptions:
    """Parameters of the recipe."""

    world_dir: Path = Path("worlds/default")
    out: Path = Path("runs/seminar")
    collect_episodes: int = 200_000
    episodes: int = 70_000
    seed: int = 31337
    concurrency: int = 16
    workers: int = 1
    models: tuple[str, ...] = SEMINAR_MODELS
    plan: Path = DATA / "seminar.yml"


def run_seminar(options: SeminarOptions, console: Console) -> Analysis:
    """Run every step and write ``out/report.md``."""
    started = time.perf_counter()
    check_plan_classes(load_experiments(options.plan))  # a bad plugin stops the run now, not after training
    ensure_world(options.world_dir, console)
    world = load_sim_world(options.world_dir)
    catalog = load_catalog(options.world_dir)
    collect_logs = options.out / "collect" / "logs"
    http_day(world, options.world_dir, config=DATA / "exploration.yml", log_dir=collect_logs,
             episodes=range(options.collect_episodes), seed=options.seed, console=console,
             label="[1/4] collection day", concurrency=options.concurrency)
    with console.status("[2/4] reading the collection logs"):
        data, report = load_interactions([collect_logs], catalog.n_tracks)
    console.print(f"[2/4] {report.describe()}; {len(data):,} interactions")
    artifacts = options.out / "artifacts"
    for name in options.models:
        result = train_model(name, catalog, data, artifacts, seed=options.seed, report=report)
        console.print(f"[2/4] trained {result.describe()}")
    plan_path = options.plan
    plan = load_experiments(plan_path)
    day_logs = options.out / "experiment" / "logs"
    start = options.collect_episodes
    http_day(world, options.world_dir, config=plan_path, log_dir=day_logs,
             episodes=range(start, start + options.episodes), seed=options.seed, console=console,
             label="[3/4] experiment day", concurrency=options.concurrency, workers=options.workers,
             artifacts=artifacts)
    analysis = analyze_logs([day_logs], plan.routing.name)
    arms = ", ".join(f"{a.label}={a.recommender}" + (f"({a.params['artifact']})" if "artifact" in a.params else "")
                     for a in plan.routing.arms)
    title = "Botify seminar" if options.plan.name == "seminar.yml" else f"Botify: {plan.routing.name}"
    console.print(render_rich(analysis.rows, title=f"{plan.routing.name}: {arms}"))
    report_path = options.out / "report.md"
    report_path.write_text(
        analysis.markdown(f"{title}: {arms}")
        + f"\nCollection day {options.collect_episodes:,} episodes, experiment day {options.episodes:,} episodes, "
          f"seed {options.seed}; artifacts in {artifacts}; {time.perf_counter() - started:.0f} s end to end.\n")
    (options.out / "report.html").write_text(render_html(analysis, f"{title}: {arms}", {
        "world": options.world_dir, "world seed": world.truth.manifest.get("seed", "?"),
        "collection episodes": options.collect_episodes, "experiment episodes": options.episodes,
        "seed": options.seed, "concurrency": options.concurrency, "workers": options.workers,
        "models": ", ".join(options.models), "experiment file": plan_path,
        "arms": "; ".join(f"{a.label}={a.recommender} {a.params}" for a in plan.routing.arms)}))
    console.print(f"[4/4] report written to {report_path} and report.html "
                  f"({time.perf_counter() - started:.0f} s end to end)")
    return analysis
