"""``botify tune``: search a recommender's parameters on the in-process simulator."""

from __future__ import annotations

from pathlib import Path

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console


@click.group(cls=LabGroup)
def tune() -> None:
    """Tune a recommender's parameters on the in-process simulator."""


@tune.command("custom")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("runs/demo/artifacts"),
              show_default=True, help="DSSM and Contextual; trained here first if missing.")
@click.option("--trials", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--search-episodes", type=click.IntRange(min=100), default=40_000,
              show_default=True)
@click.option("--confirm-episodes", type=click.IntRange(min=100), default=100_000,
              show_default=True)
@click.option("--collect-episodes", type=click.IntRange(min=1), default=200_000, show_default=True,
              help="Collection day, if the models must be trained first.")
@click.option("--storage", default=None, metavar="URL",
              help="Share the study with other workers: an Optuna RDB URL (sqlite:///tune.db, postgresql://...) or "
                   "redis://HOST:PORT (Optuna's journal on Redis).")
@click.option("--study", "study_name", default="botify-tune-custom", show_default=True,
              help="The shared study's name (with --storage).")
@click.option("--heartbeat", type=click.IntRange(min=1), default=10, show_default=True,
              help="Seconds between a running trial's heartbeats (RDB storage): a killed worker's trial is run "
                   "again after twice this.")
def tune_custom(world_dir: Path, artifacts: Path, trials: int, seed: int, search_episodes: int,
                confirm_episodes: int, collect_episodes: int, storage: str | None, study_name: str,
                heartbeat: int) -> None:
    """Search the custom recommender's T and P with Optuna, then confirm the best pair in a fresh A/B day.

    With --storage, any number of these processes, on one machine or many, search one study together: TRIALS
    complete trials in all, and the confirmation day runs once, on the best trial of every worker.
    """
    from botify.recipes.day import ensure_world
    from botify.recipes.models import ensure_report_models
    from botify.recipes.tune import TuneOptions, run_tune
    from botify.sim.world import load_sim_world

    ensure_world(world_dir, console)
    world = load_sim_world(world_dir)
    ensure_report_models(world, artifacts, collect_episodes=collect_episodes, seed=seed, console=console)
    run_tune(world, TuneOptions(artifacts=artifacts, trials=trials, seed=seed, search_episodes=search_episodes,
                                confirm_episodes=confirm_episodes, storage=storage, study_name=study_name,
                                heartbeat=heartbeat), console)
