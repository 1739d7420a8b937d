"""The lab's main recipe over real HTTP: ``botify demo`` (the report's experiment, or yours) and ``botify seminar``.

World → collection day (exploration mix: Random, StickyArtist, TopPop) → models trained from its logs → an A/B
day of an experiment file → the treatment × metric table, ``report.md`` and ``report.html``. The collection
day and each model are reused from an earlier run in the same folder when nothing they depend on changed
(``recipes/cache.py``), so changing a recommender and running again costs only the A/B day.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from botify.ab.analyze import Analysis, analyze_logs
from botify.experiments import BUNDLED, load_experiments
from botify.recipes import CONCURRENCY, PIPELINE
from botify.recipes.cache import CachedStep, collection_key, model_key
from botify.recipes.day import ensure_world, http_day
from botify.recipes.models import EXPLORATION, REPORT_MODELS
from botify.recipes.report import write_reports
from botify.recommenders.registry import check_plan_classes
from botify.sim.world import SimWorld, load_sim_world
from botify.train.dataset import load_interactions
from botify.train.parallel import train_side_by_side
from botify.world.catalog import Catalog

__all__ = ["ExperimentOptions", "run_experiment"]


@dataclass(frozen=True)
class ExperimentOptions:
    """Parameters of the recipe."""

    world_dir: Path = Path("worlds/default")
    out: Path = Path("runs/demo")
    collect_episodes: int = 200_000
    episodes: int = 30_000
    seed: int = 31337
    concurrency: int = CONCURRENCY
    pipeline: int = PIPELINE
    workers: int = 1
    models: tuple[str, ...] = REPORT_MODELS
    plan: Path = BUNDLED / "report.yml"
    title: str = "Botify"
    rebuild: bool = False


def _collection_day(options: ExperimentOptions, world: SimWorld, console: Console) -> tuple[Path, dict[str, object]]:
    logs = options.out / "collect" / "logs"
    key = collection_key(options.world_dir, EXPLORATION, seed=options.seed, episodes=options.collect_episodes)
    step = CachedStep(options.out / "collect" / "KEY.json", key, rebuild=options.rebuild)
    if step.fresh(logs):
        console.print(f"[1/4] collection day reused from {logs}: same world, seed, episodes, exploration arms and "
                      "simulator/service code (--rebuild forces a new one)")
        return logs, key
    console.print(f"[1/4] collection day ({step.changed()})")
    step.forget()
    http_day(world, options.world_dir, config=EXPLORATION, log_dir=logs,
             episodes=range(options.collect_episodes), seed=options.seed, console=console,
             label="[1/4] collection day", concurrency=options.concurrency, pipeline=options.pipeline)
    step.record()
    return logs, key


def _train(options: ExperimentOptions, catalog: Catalog, logs: Path, collection: dict[str, object],
           console: Console) -> Path:
    artifacts = options.out / "artifacts"
    steps = {name: CachedStep(artifacts / name / "KEY.json", model_key(collection, name, seed=options.seed),
                              rebuild=options.rebuild) for name in options.models}
    stale = [name for name, step in steps.items() if not step.fresh(artifacts / name / "LATEST")]
    reused = [name for name in options.models if name not in stale]
    if reused:
        console.print(f"[2/4] reused {', '.join(reused)} from {artifacts}: same collection day, seed, training code "
                      "and libraries")
    if not stale:
        return artifacts
    with console.status("[2/4] reading the collection logs"):
        data, report = load_interactions([logs], catalog.n_tracks)
    console.print(f"[2/4] {report.describe()}; {len(data):,} interactions")
    for name in stale:
        console.print(f"[2/4] training {name} ({steps[name].changed()})")
        steps[name].forget()
        shutil.rmtree(artifacts / name, ignore_errors=True)

    def trained(name: str, summary: str) -> None:
        steps[name].record()
        console.print(f"[2/4] trained {summary}")

    with console.status(f"[2/4] training {', '.join(stale)} (side by side, one thread each)"):
        train_side_by_side(stale, options.world_dir, data, artifacts, seed=options.seed, report=report,
                           on_trained=trained)
    return artifacts


def run_experiment(options: ExperimentOptions, console: Console) -> Analysis:
    """Run every step (reusing what is fresh) and write ``out/report.md`` and ``out/report.html``."""
    started = time.perf_counter()
    plan = load_experiments(options.plan)
    check_plan_classes(plan)  # a bad plugin stops the run now, not after the collection day
    options.out.mkdir(parents=True, exist_ok=True)
    steps = _StepClock()
    ensure_world(options.world_dir, console)
    world = load_sim_world(options.world_dir)
    catalog = world.catalog
    steps.done("world")
    logs, collection = _collection_day(options, world, console)
    steps.done("collection day")
    artifacts = _train(options, catalog, logs, collection, console)
    steps.done("training")
    day_logs = options.out / "experiment" / "logs"
    day_started = time.perf_counter()
    http_day(world, options.world_dir, config=options.plan, log_dir=day_logs,
             episodes=range(options.collect_episodes, options.collect_episodes + options.episodes),
             seed=options.seed, console=console, label="[3/4] experiment day", concurrency=options.concurrency,
             pipeline=options.pipeline, workers=options.workers, artifacts=artifacts)
    analysis = analyze_logs([day_logs], plan.routing.name, metrics_plan=plan.metrics)
    day_seconds = time.perf_counter() - day_started
    total = time.perf_counter() - started
    report = write_reports(
        options.out, analysis, plan, title=options.title, console=console,
        footer=(f"Collection day {options.collect_episodes:,} episodes, experiment day {options.episodes:,} "
                f"episodes, seed {options.seed}; artifacts in {artifacts}; {total:.0f} s end to end "
                f"(A/B day and analysis {day_seconds:.0f} s)."),
        context={"world": options.world_dir, "world seed": catalog.manifest.get("seed", "?"),
                 "collection episodes": options.collect_episodes, "experiment episodes": options.episodes,
                 "seed": options.seed, "concurrency": options.concurrency, "pipeline": options.pipeline,
                 "workers": options.workers, "models": ", ".join(options.models), "experiment file": options.plan})
    steps.done("A/B day, analysis and reports")
    console.print(f"[4/4] report written to {report} and report.html ({total:.0f} s end to end, "
                  f"A/B day and analysis {day_seconds:.0f} s)")
    console.print(f"      time per step: {steps.describe()}")
    return analysis


class _StepClock:
    """Seconds spent in each step of the recipe, for the last line of its output."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step], self._last = now - self._last, now

    def describe(self) -> str:
        return ", ".join(f"{step} {seconds:.0f} s" for step, seconds in self.seconds.items())

