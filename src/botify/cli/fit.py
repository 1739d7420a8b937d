"""``botify fit``: how far a world fitted to logs can be trusted, measured against a world whose truth is known."""

from __future__ import annotations

import json
from pathlib import Path

import click

from botify.cli.common import LabGroup, console
from botify.recipes.progress import progress_bars


@click.group(cls=LabGroup)
def fit() -> None:
    """Studies of worlds fitted to logs (`botify world fit` fits one)."""


@fit.command("study")
@click.option("--worlds", default="0", show_default=True, metavar="SEEDS",
              help="Comma-separated seeds of hidden worlds T, each generated under OUT/seed-S/world.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="A world knob of every T (docs/world.md), e.g. return_model=true or consume_bias_low=0.")
@click.option("--tracks", type=click.IntRange(min=100), default=50_000, show_default=True)
@click.option("--users", type=click.IntRange(min=10), default=10_000, show_default=True)
@click.option("--log-episodes", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Episodes of the logged day (the OPE study's exploration mixture): all the fit sees.")
@click.option("--ab-episodes", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Episodes of the A/B experiment played in T and in F.")
@click.option("--collect-episodes", type=click.IntRange(min=100), default=200_000, show_default=True,
              help="Episodes of the exploration day the seminar's models are trained from.")
@click.option("--days", type=click.IntRange(min=1), default=14, show_default=True,
              help="Days of the logged run and of T's A/B run when T has the return model.")
@click.option("--epochs", type=click.IntRange(min=1), default=25, show_default=True, help="The fit's epochs.")
@click.option("--seed", type=click.IntRange(min=0), default=7, show_default=True)
@click.option("--artifacts", type=click.Path(path_type=Path), default=None,
              help="The seminar's models to serve as arms (default: OUT/seed-S/artifacts, trained there when missing).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/fit"), show_default=True)
def fit_study(worlds: str, overrides: tuple[str, ...], tracks: int, users: int, log_episodes: int, ab_episodes: int,
              collect_episodes: int, days: int, epochs: int, seed: int, artifacts: Path | None, out: Path) -> None:
    """Fit a world F to one logged day of each hidden world T and measure how well F predicts T's A/B results.

    Per arm of the OPE study: the effect on mean_time_per_session against the seminar's Random in T and in F,
    Spearman and Kendall of the rankings, the effect error, F's interval coverage; beside the OPE estimators and
    recall/NDCG from the same logs; and the fit's parameter recovery. OUT/seed-S/report.md and report.html.
    """
    from botify.cli.world import parse_overrides
    from botify.errors import ConfigError
    from botify.fit import FitSettings
    from botify.recipes.fit_report import write_fit_report
    from botify.recipes.fit_study import FitStudyOptions, run_fit_study
    from botify.world.catalog import CATALOG_DIR
    from botify.world.config import WorldConfig
    from botify.world.generate import write_world

    try:
        seeds = [int(s) for s in worlds.split(",") if s.strip()]
    except ValueError as error:
        raise ConfigError(f"`--worlds` expects comma-separated integer seeds, got {worlds!r}") from error
    config = WorldConfig.from_dict({"n_tracks": tracks, "n_users": users, **parse_overrides(overrides)})
    for world_seed in seeds:
        folder = out / f"seed-{world_seed}"
        world_dir = folder / "world"
        if not (world_dir / CATALOG_DIR).is_dir():
            with console.status(f"generating the hidden world T (seed {world_seed})"):
                write_world(world_dir, config, world_seed)
        generated = json.loads((world_dir / "truth" / "manifest.json").read_text()).get("config")
        if generated != config.to_dict():
            raise ConfigError(f"{world_dir} holds a world of other knobs than asked: remove it or choose another "
                              "`--out`")
        options = FitStudyOptions(out=folder, log_episodes=log_episodes, ab_episodes=ab_episodes,
                                  collect_episodes=collect_episodes, days=days, seed=seed,
                                  settings=FitSettings(epochs=epochs, seed=seed), artifacts=artifacts)
        with progress_bars(console, "epochs") as progress:
            result = run_fit_study(world_dir, options, console, progress)
        write_fit_report(result, folder, console)
