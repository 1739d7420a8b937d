"""``botify ope``: offline (off-policy) evaluation against the simulator's truth."""

from __future__ import annotations

from pathlib import Path

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console


@click.group(cls=LabGroup)
def ope() -> None:
    """Off-policy evaluation: estimate arms from logs, check the estimates against the simulator."""


@ope.command("study")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("runs/demo/artifacts"), show_default=True,
              help="The seminar's models; the missing ones are trained first (from an in-process exploration day).")
@click.option("--log-episodes", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Episodes of the logged day (the exploration mixture).")
@click.option("--truth-episodes", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Episodes of each arm alone: its online truth.")
@click.option("--seed", type=click.IntRange(min=0), default=7, show_default=True)
@click.option("--resamples", type=click.IntRange(min=10), default=100, show_default=True,
              help="Bootstrap resamples of each interval.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/ope"), show_default=True)
def ope_study(world_dir: Path, artifacts: Path, log_episodes: int, truth_episodes: int, seed: int, resamples: int,
              out: Path) -> None:
    """Log one day with an exploration mixture, estimate every seminar arm from it, compare with the truth.

    Prints each arm's online truth beside IPS, SNIPS, DM, DR (per decision) and PDIS / weighted PDIS (per session),
    then each estimator's bias, RMSE and rank correlation with the online ranking, beside recall@100 / NDCG@100;
    writes OUT/report.md and OUT/report.html.
    """
    from botify.recipes.day import ensure_world
    from botify.recipes.ope import OpeOptions, run_ope_study
    from botify.sim.world import load_sim_world

    ensure_world(world_dir, console)
    run_ope_study(load_sim_world(world_dir), OpeOptions(artifacts, out, log_episodes, truth_episodes, seed=seed,
                                                       resamples=resamples), console)


@ope.command("obd")
@click.option("--campaign", type=click.Choice(["all", "men", "women"]), default="all", show_default=True)
@click.option("--simulations", type=click.IntRange(min=1000), default=100_000, show_default=True,
              help="Monte Carlo draws of the BTS policy's probabilities (obp's BernoulliTS).")
@click.option("--resamples", type=click.IntRange(min=10), default=200, show_default=True,
              help="Bootstrap resamples of each interval.")
@click.option("--seed", type=click.IntRange(min=0), default=12345, show_default=True)
def ope_obd(campaign: str, simulations: int, resamples: int, seed: int) -> None:
    """Our estimators on a real log: the Open Bandit Dataset sample (obp ships it), beside obp's own.

    Estimates Bernoulli Thompson sampling's click rate from the uniform-random log and compares it with BTS's
    own log (its on-policy value). Needs `pip install 'botify[obd]'` (docs/ope.md).
    """
    from rich.table import Table

    from botify.ope.obd import check_on_obd

    check = check_on_obd(campaign, simulations=simulations, resamples=resamples, seed=seed)
    table = Table(title=f"BTS's click rate from the random log ({campaign}: {check.impressions:,} impressions, "
                        f"{check.clicks} clicks); on-policy {check.on_policy:.5f}")
    for column in ("estimator", "ours", "95 % bootstrap", "obp's", "relative error"):
        table.add_column(column, justify="left" if column == "estimator" else "right")
    for estimate in check.ours:
        table.add_row(estimate.estimator, f"{estimate.value:.5f}", f"[{estimate.lower:.5f}, {estimate.upper:.5f}]",
                      f"{check.obp[estimate.estimator]:.5f}", f"{check.relative_error(estimate.estimator):.1%}")
    console.print(table)
