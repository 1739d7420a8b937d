"""The models the recipes serve, and the step that trains the missing ones from an in-process collection day.

``SEMINAR_MODELS`` are the seminar's (and the OPE and fit studies' candidates); ``REPORT_MODELS`` the report's
experiment's. ``EXPLORATION`` is the collection day's experiment file: Random, StickyArtist and TopPop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from botify.experiments import BUNDLED, load_experiments
from botify.recipes.progress import progress_bars
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld
from botify.train.dataset import load_interactions
from botify.train.pipeline import train_model

__all__ = ["EXPLORATION", "REPORT_MODELS", "SEMINAR_MODELS", "arm_specs", "ensure_named_models", "ensure_report_models"]

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


def arm_specs(experiment: Path) -> list[dict[str, Any]]:
    """The first experiment's arms of an experiment file, each as ``{recommender, params}``."""
    data = yaml.safe_load(experiment.read_text())
    return [arm if isinstance(arm, dict) else {"recommender": arm} for arm in data["experiments"][0]["arms"]]


def ensure_named_models(world: SimWorld, artifacts: Path, arms: list[dict[str, Any]], *, collect_episodes: int,
                        seed: int, console: Console) -> None:
    """Train the seminar's models that ``arms`` name (``artifact``, ``dssm``, ``contextual``) and that are missing."""
    named = {str(value) for arm in arms for key, value in (arm.get("params") or {}).items()
             if key in ("artifact", "dssm", "contextual")}
    trainable = tuple(name for name in SEMINAR_MODELS if name in named)
    if trainable:
        ensure_report_models(world, artifacts, collect_episodes=collect_episodes, seed=seed, console=console,
                             models=trainable)
