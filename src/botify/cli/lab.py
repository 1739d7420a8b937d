"""The lab's end-to-end recipes and training: ``botify demo``, ``botify seminar``, ``botify train``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from botify.cli.common import DEFAULT_WORLD, DEMO_EPISODES, console
from botify.errors import ConfigError
from botify.experiments import BUNDLED
from botify.recipes import CONCURRENCY, PIPELINE

F = TypeVar("F", bound=Callable[..., Any])


def _recipe_options(episodes: int, out: Path) -> list[Any]:
    return [
        click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD,
                     show_default=True),
        click.option("--collect-episodes", type=click.IntRange(min=1), default=200_000, show_default=True,
                     help="Episodes of the collection day the models learn from."),
        click.option("--episodes", type=click.IntRange(min=1), default=episodes, show_default=True,
                     help="Episodes of the A/B day."),
        click.option("--seed", type=click.IntRange(min=0), default=31337, show_default=True),
        click.option("--concurrency", type=click.IntRange(min=1), default=CONCURRENCY, show_default=True,
                     help="Sessions in flight on the HTTP days."),
        click.option("--pipeline", type=click.IntRange(min=1), default=PIPELINE, show_default=True,
                     help="Sessions per connection (their requests pipelined); 1: a connection per session."),
        click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True),
        click.option("--out", type=click.Path(path_type=Path), default=out, show_default=True),
        click.option("--rebuild", is_flag=True,
                     help="Run the collection day and train the models again even if an earlier run's are fresh."),
    ]


def _with(options: list[Any]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@click.command("demo")
@_with(_recipe_options(DEMO_EPISODES, Path("runs/demo")))
@click.option("--experiment", "experiment_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Your experiment file for the A/B day (arms may use the dssm and contextual "
                                 "artifacts and your own recommenders).")
@click.option("--calibration", is_flag=True,
              help="Instead: the quick calibration day (Random vs StickyArtist vs TopPop), no training.")
def demo(world_dir: Path, collect_episodes: int, episodes: int, seed: int, concurrency: int, pipeline: int,
         workers: int, out: Path, rebuild: bool, experiment_file: Path | None, calibration: bool) -> None:
    """The main job: the report's experiment, DSSM (control) vs the report's custom recommender over real HTTP.

    World -> collection day -> DSSM + Contextual from its logs -> A/B day -> table, report.md and report.html.
    The collection day and the models are reused from an earlier run in OUT when nothing they depend on changed.
    """
    if calibration:
        from botify.recipes.calibration import CalibrationOptions, run_calibration

        out.mkdir(parents=True, exist_ok=True)
        run_calibration(CalibrationOptions(world_dir=world_dir, out=out, episodes=episodes, seed=seed,
                                           concurrency=concurrency, pipeline=pipeline, workers=workers),
                        console)
        return
    from botify.recipes.experiment import ExperimentOptions, run_experiment
    from botify.recipes.models import REPORT_MODELS

    plan = experiment_file or BUNDLED / "report.yml"
    run_experiment(ExperimentOptions(
        world_dir=world_dir, out=out, collect_episodes=collect_episodes, episodes=episodes, seed=seed,
        concurrency=concurrency, pipeline=pipeline, workers=workers, models=REPORT_MODELS, plan=plan,
        rebuild=rebuild,
        title="Botify demo" if experiment_file is None else f"Botify: {plan.name}"), console)


@click.command("seminar")
@_with(_recipe_options(70_000, Path("runs/seminar")))
def seminar(world_dir: Path, collect_episodes: int, episodes: int, seed: int, concurrency: int, pipeline: int,
            workers: int, out: Path, rebuild: bool) -> None:
    """Collection day -> train all models -> 7-way A/B day vs Random -> the seminar table."""
    from botify.recipes.experiment import ExperimentOptions, run_experiment
    from botify.recipes.models import SEMINAR_MODELS

    run_experiment(ExperimentOptions(
        world_dir=world_dir, out=out, collect_episodes=collect_episodes, episodes=episodes, seed=seed,
        concurrency=concurrency, pipeline=pipeline, workers=workers, models=SEMINAR_MODELS,
        plan=BUNDLED / "seminar.yml",
        rebuild=rebuild, title="Botify seminar"), console)


@click.command("train")
@click.argument("models", nargs=-1, required=True)
@click.option("--logs", "log_paths", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Log files or directories (every replica, rotated files included); repeatable.")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True,
              help="World directory (only its public catalog is read).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--params", "params_json", default="{}", show_default=True,
              help="JSON object of constructor parameters for a trainer plugin, e.g. '{\"factors\": 32}'.")
@click.option("--refit", is_flag=True,
              help="Save a second fit on all the logs instead of the evaluated DSSM or Contextual (whose users' "
                   "bags and context tracks are read from all the logs either way).")
def train(models: tuple[str, ...], log_paths: tuple[Path, ...], world_dir: Path, out: Path, seed: int,
          params_json: str, refit: bool) -> None:
    """Train MODELS from logs and save their artifacts, with offline metrics beside TopPop.

    A model is a built-in (toppop, dssm, dssm-triplet, als, contextual, contextual-diverse, or all) or a trainer
    plugin: `my_module:MyTrainer` (found in the working directory first) or a name an installed package
    registers under the entry-point group botify.trainers.
    """
    from botify.recipes.progress import progress_bars
    from botify.train.dataset import load_interactions
    from botify.train.pipeline import MODELS, resolve_model, train_model
    from botify.world.catalog import load_catalog

    try:
        params = json.loads(params_json)
    except ValueError as error:
        raise ConfigError(f"--params must be a JSON object: {error}") from error
    if not isinstance(params, dict):
        raise ConfigError(f"--params must be a JSON object, got {params_json!r}")
    names = sorted(MODELS) if "all" in models else list(models)
    catalog = load_catalog(world_dir)
    specs = {name: resolve_model(name, catalog, params, search_path=Path.cwd()) for name in names}
    with console.status("reading logs"):
        data, report = load_interactions(log_paths, catalog.n_tracks)
    console.print(f"{report.describe()}; {len(data):,} interactions")
    for spec in specs.values():
        with progress_bars(console, "epochs", transient=True) as progress:
            result = train_model(spec, catalog, data, out, seed=seed, report=report, progress=progress,
                                 refit=refit)
        console.print(f"trained {result.describe()}")


@click.command("longterm")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=Path("worlds/returns"),
              show_default=True, help="A world with the return model (generated, seed 0, if missing).")
@click.option("--experiment", "experiment_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Default: DSSM's random pick vs the report's custom recommender vs session.")
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("runs/demo/artifacts"),
              show_default=True, help="The models the arms use (botify demo trains them).")
@click.option("--days", type=click.IntRange(min=2), default=15, show_default=True,
              help="Day 0 and 14 more: day-14 retention.")
@click.option("--pre-days", type=click.IntRange(min=0), default=0, show_default=True,
              help="Days before the experiment with every user on the control arm: CUPED's covariate.")
@click.option("--seed", type=click.IntRange(min=0), default=31337, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=CONCURRENCY, show_default=True,
              help="Sessions in flight.")
@click.option("--pipeline", type=click.IntRange(min=1), default=PIPELINE, show_default=True,
              help="Sessions per connection (their requests pipelined); 1: a connection per session.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/longterm"), show_default=True)
def longterm(world_dir: Path, experiment_file: Path | None, artifacts: Path, days: int, pre_days: int, seed: int,
             concurrency: int, pipeline: int, out: Path) -> None:
    """The long-term experiment over real HTTP: whether the short-term and the long-term winners agree.

    Days under the return model (docs/returns.md) -> each arm by day, retention curves, day 0's A/B and the
    horizon's, report.md and report.html in OUT.
    """
    from botify.recipes.longterm import LongTermOptions, run_long_term

    run_long_term(LongTermOptions(world_dir, experiment_file or BUNDLED / "longterm.yml", artifacts, out, days, seed,
                                  concurrency, pre_days, pipeline), console)
