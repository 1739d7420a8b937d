"""The sensitivity study: how many users interleaving needs to find the A/B test's answer, pair by pair.

On one world (the default one, without the return model), with the seminar's models and the report's custom
recommender:

1. **the A/B truth**: every arm serves all users alone for ``episodes`` episodes; the per-user mean time per
   session gives each arm's mean and spread, and each pair's true direction (with its z-score);
2. **interleaving**: for every pair, an ``interleave`` arm of the two serves all users for as many episodes; each
   user's preference comes from the credits of the two teams' picks (``botify.ab.interleave``);
3. per pair, the users each method needs to get the true direction right 95 % of the time
   (``botify.ab.sensitivity``), checked by drawing that many users 400 times.

Written to ``report.md`` and ``report.html`` in ``out``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from rich.console import Console
from rich.table import Table

from botify.ab.html import STYLE, Figures, html_table
from botify.ab.interleave import interleaving_credits, preference_scores
from botify.ab.metrics import user_metrics
from botify.ab.sensitivity import Sensitivity, ab_users_needed, interleaving_users_needed, right_share
from botify.ab.table import markdown_table
from botify.experiments import BUNDLED, ExperimentPlan
from botify.ope.targets import REPLAYED, arm_label
from botify.recipes.models import arm_specs, ensure_named_models
from botify.recipes.progress import progress_bars
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld, load_sim_world
from botify.world.catalog import CATALOG_DIR
from botify.world.config import WorldConfig
from botify.world.generate import write_world

__all__ = ["SensitivityOptions", "run_sensitivity"]


@dataclass(frozen=True)
class SensitivityOptions:
    """Where, how many episodes per run, and which arms."""

    world_dir: Path = Path("worlds/default")
    out: Path = Path("runs/sensitivity")
    artifacts: Path | None = None
    """The arms' models (default: OUT/artifacts, the seminar's trained there when missing)."""
    experiment: Path = BUNDLED / "seminar.yml"
    """Its first experiment's arms are compared pairwise, with the report's custom recommender added."""
    episodes: int = 70_000
    collect_episodes: int = 100_000
    seed: int = 0


def _arms(experiment: Path) -> list[dict[str, Any]]:
    name, params = REPLAYED[0]  # the report's custom recommender
    return [*arm_specs(experiment), {"recommender": name, "params": params}]


def _label(arm: dict[str, Any]) -> str:
    return arm_label(str(arm["recommender"]), arm.get("params") or {})


def _plan(name: str, arm: dict[str, Any], seed: int) -> ExperimentPlan:
    return ExperimentPlan.from_dict({"seed": seed, "experiments": [{"name": name, "arms": [arm]}]})


def _per_user(world: SimWorld, arm: dict[str, Any], options: SensitivityOptions,
              artifacts: Path) -> np.ndarray[Any, np.dtype[np.float64]]:
    plan = _plan("SENSITIVITY", arm, options.seed)
    results = InProcessAgent(world, plan, artifacts=artifacts).play(range(options.episodes), seed=options.seed)
    metrics = user_metrics(results.user, np.zeros(len(results), np.int64), results.time, results.tracks)
    values: np.ndarray[Any, np.dtype[np.float64]] = metrics.mean_time_per_session
    return values


def _preferences(world: SimWorld, a: dict[str, Any], b: dict[str, Any], options: SensitivityOptions,
                 artifacts: Path) -> np.ndarray[Any, np.dtype[np.float64]]:
    arm = {"recommender": "interleave", "params": {"components": [a, b]}}
    plan = _plan("INTERLEAVE", arm, options.seed)
    log = InProcessLog(plan)
    InProcessAgent(world, plan, artifacts=artifacts, log=log).play(range(options.episodes), seed=options.seed)
    return preference_scores(interleaving_credits(log.events()))


def run_sensitivity(options: SensitivityOptions, console: Console) -> list[Sensitivity]:
    """Measure every pair and write the report."""
    if not (options.world_dir / CATALOG_DIR).is_dir():
        with console.status(f"generating the default world in {options.world_dir}"):
            write_world(options.world_dir, WorldConfig(), seed=0)
    world = load_sim_world(options.world_dir)
    artifacts = options.artifacts or options.out / "artifacts"
    arms = _arms(options.experiment)
    ensure_named_models(world, artifacts, arms, collect_episodes=options.collect_episodes, seed=options.seed,
                        console=console)
    pairs = [(a, b) for b in range(1, len(arms)) for a in range(b)]
    values: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    rows = []
    with progress_bars(console, "runs") as progress:
        for index, arm in enumerate(arms):
            values.append(_per_user(world, arm, options, artifacts))
            progress("A/B truth: one run per arm", index + 1, len(arms))
        for done, (a, b) in enumerate(pairs, start=1):
            scores = _preferences(world, arms[a], arms[b], options, artifacts)
            rows.append(_compare(_label(arms[a]), _label(arms[b]), values[a], values[b], scores, options.seed))
            progress("interleaved runs: one per pair", done, len(pairs))
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "report.md").write_text(markdown(rows, options))
    (options.out / "report.html").write_text(render_page(rows, options))
    console.print(rich_table(rows))
    console.print(f"{_summary(rows)}\nreport written to {options.out / 'report.md'} and report.html")
    return rows


def _compare(label_a: str, label_b: str, values_a: np.ndarray[Any, np.dtype[np.float64]],
             values_b: np.ndarray[Any, np.dtype[np.float64]], scores: np.ndarray[Any, np.dtype[np.float64]],
             seed: int) -> Sensitivity:
    difference = float(values_b.mean() - values_a.mean())
    sd_a, sd_b = float(values_a.std(ddof=1)), float(values_b.std(ddof=1))
    ab_z = difference / math.sqrt(sd_a**2 / len(values_a) + sd_b**2 / len(values_b))
    preference, sd = float(scores.mean()), float(scores.std(ddof=1))
    ab_users = ab_users_needed(difference, sd_a, sd_b)
    interleaving_users = interleaving_users_needed(preference, sd, difference)
    ab_right = right_share(values_a, values_b, int(ab_users), difference, seed=seed) if math.isfinite(ab_users) \
        else float("nan")
    at = int(interleaving_users) if math.isfinite(interleaving_users) else len(scores)
    interleaving_right = right_share(scores, None, at, difference, seed=seed)
    return Sensitivity(label_a, label_b, 100 * difference / float(values_a.mean()), ab_z, preference,
                       preference / (sd / math.sqrt(len(scores))), ab_users, interleaving_users, ab_right,
                       interleaving_right)


def _users(count: float) -> str:
    return "never (wrong direction)" if math.isinf(count) else f"{int(count):,}"


def _cells(row: Sensitivity) -> list[str]:
    return [f"{row.b} vs {row.a}", f"{row.ab_effect:+.2f} (z {row.ab_z:+.1f})",
            f"{row.preference:+.4f} (z {row.preference_z:+.1f})", _users(row.ab_users),
            _users(row.interleaving_users), f"{row.ratio:.1f}×" if row.ratio else "—",
            f"{row.ab_right:.0%} / {row.interleaving_right:.0%}", "yes" if row.agrees else "NO"]


_HEADER = ("pair (b vs a)", "A/B effect % of a (z)", "interleaving preference for b (z)", "A/B users needed",
           "interleaving users needed", "A/B / interleaving", "right at that many (A/B / interleaving, measured)",
           "same direction")


def _summary(rows: list[Sensitivity]) -> str:
    agree = sum(r.agrees for r in rows)
    clear = [r for r in rows if abs(r.ab_z) >= 3]
    ratios = sorted(r.ratio for r in clear if r.ratio > 0)
    median = f"{ratios[len(ratios) // 2]:.1f}×" if ratios else "—"
    return (f"direction agreement: {agree} of {len(rows)} pairs ({sum(r.agrees for r in clear)} of {len(clear)} "
            f"whose A/B truth is clear, |z| >= 3); median A/B / interleaving users among those: {median}")


def _intro(options: SensitivityOptions) -> str:
    return (f"World `{options.world_dir}`; each run {options.episodes:,} episodes over all users (seed "
            f"{options.seed}). A/B truth: every arm alone; interleaving: every pair as one interleaved arm "
            "(team draft over the session's steps). Users needed: to get the A/B truth's direction right 95 % of "
            "the time, by the normal approximation, checked by drawing that many users 400 times.")


def markdown(rows: list[Sensitivity], options: SensitivityOptions) -> str:
    """The report: the summary, then one row per pair, largest A/B effect last."""
    table = markdown_table(_HEADER, [_cells(r) for r in sorted(rows, key=lambda r: abs(r.ab_effect))])
    return f"# Interleaving against A/B: users needed per pair\n\n{_intro(options)}\n\n**{_summary(rows)}**\n\n{table}"


def rich_table(rows: list[Sensitivity]) -> Table:
    """The table for the terminal."""
    table = Table(title="Users needed to get the A/B direction right 95 % of the time")
    for column in _HEADER:
        table.add_column(column, justify="left" if column.startswith("pair") else "right")
    for row in sorted(rows, key=lambda r: abs(r.ab_effect)):
        table.add_row(*_cells(row))
    return table


def render_page(rows: list[Sensitivity], options: SensitivityOptions) -> str:
    """HTML: users needed by each method per pair (log scale), and the table."""
    ordered = sorted(rows, key=lambda r: abs(r.ab_effect))
    names = [f"{r.b} vs {r.a}" for r in ordered]
    figure = go.Figure([go.Bar(name="A/B", x=names, y=[r.ab_users for r in ordered]),
                        go.Bar(name="interleaving", x=names, y=[None if math.isinf(r.interleaving_users)
                                                                else r.interleaving_users for r in ordered])])
    figure.update_layout(title="Users needed for the right direction 95 % of the time (missing bar: interleaving "
                               "points the wrong way)", yaxis_type="log", barmode="group", height=520)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Interleaving sensitivity</title>"
            f"<style>{STYLE}</style></head><body><h1>Interleaving against A/B</h1><p>{html.escape(_intro(options))}"
            f"</p><p><b>{html.escape(_summary(rows))}</b></p>{Figures().html(figure, 'users-needed')}"
            f"{html_table(_HEADER, [_cells(r) for r in ordered])}</body></html>")
