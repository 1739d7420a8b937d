"""The models the recipes serve, and the step that trains the missing ones from an in-process collection day.

``SEMINAR_MODELS`` are the seminar's (and the OPE and fit studies' candidates); ``REPORT_MODELS`` the report's
experiment's. ``EXPLORATION`` is the collection day's experiment file: Random, StickyArtist and TopPop.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from botify.experiments import BUNDLED, load_experiments
from botify.recipes.progress import progress_bars
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld
from botify.train.dataset import load_interactions
from botify.train.pipeline import train_model

__all__ = ["EXPLORATION", "REPORT_MODELS", "SEMINAR_MODELS", "ensure_report_models"]

SEMINAR_MODELS = ("toppop", "als", "dssm", "contextual", "contextual-diverse")
REPORT_MODELS = ("dssm", "contextual")
EXPLORATION = BUNDLED / "exploration.yml"


def ensure_report_models(world: SimWorld, artifacts: Path, *, collect_episodes: int, seed: int,
                         console: Console, models: tuple[str, ...] | None = None) -> None:
    """Train ``models`` (default: DSSM and Contextual) into ``artifacts`` unless there.

    An in-process collection day, then the pipeline; in-process logs hold the same lines as a day over HTTP
    (tested), so the models are the demo's.
    """
    missing = [name for name in models or REPORT_MODELS if not (artifacts / name / "LATEST").exists()]
    if not missing:
        return
    console.print(f"{', '.join(missing)} not in {artifacts}: a collection day ({collect_episodes:,} episodes, "
                  "in-process) and training")
    plan = load_experiments(EXPLORATION)
    log = InProcessLog(plan)
    InProcessAgent(world, plan, log=log).play(range(collect_episodes), seed=seed)
    logs = artifacts.parent / "collect" / "logs"
    log.write(logs)
    data, report = load_interactions([logs], world.n_tracks)
    for name in missing:
        with progress_bars(console, "epochs", transient=True) as progress:
            result = train_model(name, world.catalog, data, artifacts, seed=seed, report=report, progress=progress)
        console.print(f"trained {result.describe()}")
