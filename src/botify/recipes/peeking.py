"""The peeking study: what daily looks do to false positives, power and estimates, measured on simulated truth.

On the return-model world, every run is a fresh multi-day experiment played in-process (its own experiment name,
hence its own split of the users, and its own simulation seed), looked at once a day on the primary metric as it
stands that day:

- A/A runs split one recommender (the experiment file's control) in two: any stop is a false positive;
- A/B runs serve the whole experiment (by default the seminar's seven arms); every pair of its arms (the later arm
  against the earlier one) is a comparison with a true effect, taken as the mean of the last day's effect over all
  runs. The seminar's candidates differ from Random by 30–75 % but among themselves by a few %: the pairs span
  effects from near zero to large.

Per method (``botify.ab.peeking``): the false-positive rate with its Wilson interval, the power, the mean stopping
day and the ratio of the estimate at the stop to the true effect. Written to ``report.md`` and ``report.html``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from rich.console import Console
from rich.table import Table

from botify.ab.html import STYLE, Figures, html_table
from botify.ab.looks import ArmLooks, arm_looks
from botify.ab.peeking import PEEKING_METHODS, MethodSummary, PeekOutcome, peek, summarize
from botify.ab.table import markdown_table
from botify.errors import LabError
from botify.experiments import BUNDLED, ExperimentPlan, arm_name
from botify.ope.targets import arm_label
from botify.recipes.horizon import daily_sessions
from botify.recipes.models import arm_specs, ensure_named_models
from botify.recipes.progress import progress_bars
from botify.sim.agents import InProcessAgent
from botify.sim.days import play_days
from botify.sim.world import SimWorld, load_sim_world
from botify.world.catalog import CATALOG_DIR
from botify.world.config import WorldConfig
from botify.world.generate import write_world

__all__ = ["PeekingOptions", "PeekingStudy", "run_peeking", "run_plan"]

_LABELS = {"naive": "naive Welch, every day", "gst": "GST (O'Brien-Fleming spending)", "gavi": "GAVI",
           "msprt": "mSPRT", "fixed": "Welch once, last day"}


@dataclass(frozen=True)
class PeekingOptions:
    """Where, how long and how many runs."""

    world_dir: Path = Path("worlds/returns")
    out: Path = Path("runs/peeking")
    artifacts: Path | None = None
    """The models the experiment's arms name (default: OUT/artifacts, trained there when missing)."""
    experiment: Path = BUNDLED / "seminar.yml"
    days: int = 14
    runs: int = 1000
    ab_runs: int = 200
    seed: int = 0
    alpha: float = 0.05
    metric: str = "mean_time_per_session"


@dataclass(frozen=True)
class PeekingStudy:
    """The A/A summary per method, and per treatment its true effect and summary per method."""

    options: PeekingOptions
    aa: list[MethodSummary]
    true_effects: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per pair (``T3 vs T1``): the mean last-day effect over the A/B runs (%) and its standard error."""
    ab: dict[str, list[MethodSummary]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    """Per pair: the recommenders it compares."""


def _describe(arm: dict[str, Any]) -> str:
    return arm_label(str(arm["recommender"]), arm.get("params") or {})


def run_plan(arms: list[dict[str, Any]], seed: int) -> ExperimentPlan:
    """The experiment of run ``seed``: the arms under a name of its own."""
    # the routing salt is the experiment's name: a fresh name per run is a fresh split of the world's users (one
    # name for every run would put each user in the same arm every time, and the runs would not be independent)
    return ExperimentPlan.from_dict({"seed": seed, "experiments": [{"name": f"PEEKING-{seed}", "arms": arms}]})


def _looks(world: SimWorld, arms: list[dict[str, Any]], seed: int, options: PeekingOptions,
           artifacts: Path) -> dict[int, ArmLooks]:
    """One run: play the days, then each arm's primary metric at each day's end."""
    plan = run_plan(arms, seed)
    horizon = play_days(InProcessAgent(world, plan, artifacts=artifacts), world, days=options.days, seed=seed)
    days = daily_sessions(horizon, plan)
    per_arm = arm_looks(days.user, days.arm, days.day, days.time, days.tracks, looks=options.days,
                        metrics=(options.metric,))[options.metric]
    if any((looks.users < 2).any() or (looks.variance <= 0).any() for looks in per_arm.values()):
        raise LabError(f"an arm has fewer than two users (or no variation) on some day of run seed {seed}; "
                       "use a world with more users")
    return per_arm


def run_peeking(options: PeekingOptions, console: Console) -> PeekingStudy:
    """Play the A/A and A/B runs, summarize every method and write the report."""
    if not (options.world_dir / CATALOG_DIR).is_dir():
        with console.status(f"generating the default world with the return model in {options.world_dir}"):
            write_world(options.world_dir, WorldConfig(return_model=True), seed=0)
    world = load_sim_world(options.world_dir)
    artifacts = options.artifacts or options.out / "artifacts"
    arms = arm_specs(options.experiment)
    ensure_named_models(world, artifacts, arms, collect_episodes=30_000, seed=options.seed, console=console)
    aa_runs: list[list[PeekOutcome]] = []
    pairs = [(first, second) for second in range(1, len(arms)) for first in range(second)]
    ab_runs: dict[tuple[int, int], list[list[PeekOutcome]]] = {pair: [] for pair in pairs}
    with progress_bars(console, "runs") as progress:
        for run in range(options.runs):
            looks = _looks(world, [arms[0], arms[0]], options.seed + run, options, artifacts)
            aa_runs.append(peek(looks[1], looks[0], alpha=options.alpha))
            progress("A/A runs", run + 1, options.runs)
        for run in range(options.ab_runs):
            looks = _looks(world, arms, options.seed + 1_000_000 + run, options, artifacts)
            for first, second in pairs:
                ab_runs[(first, second)].append(peek(looks[second], looks[first], alpha=options.alpha))
            progress("A/B runs", run + 1, options.ab_runs)
    study = PeekingStudy(options, summarize(aa_runs))
    for (first, second), outcomes in ab_runs.items():
        finals = np.array([run[0].final for run in outcomes])
        truth = float(finals.mean())
        error = float(finals.std(ddof=1) / np.sqrt(len(finals)))
        label = f"{arm_name(second)} vs {arm_name(first)}"
        study.true_effects[label] = (truth, error)
        study.ab[label] = summarize(outcomes, truth)
        study.names[label] = f"{_describe(arms[second])} vs {_describe(arms[first])}"
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "report.md").write_text(markdown(study))
    (options.out / "report.html").write_text(render_page(study))
    console.print(rich_tables(study))
    console.print(f"report written to {options.out / 'report.md'} and report.html")
    return study


def _rate(s: MethodSummary) -> str:
    return f"{s.rate:.1%} [{s.rate_low:.1%}, {s.rate_high:.1%}]"


def _day(s: MethodSummary) -> str:
    return "—" if np.isnan(s.mean_stop_day) else f"{s.mean_stop_day:.2f}"


def _overshoot(s: MethodSummary) -> str:
    return "—" if np.isnan(s.overshoot) else f"{s.overshoot:.2f}×"


def _aa_rows(study: PeekingStudy) -> list[list[str]]:
    return [[_LABELS[s.method], f"{s.stopped} / {s.runs}", _rate(s), _day(s)] for s in study.aa]


def _ab_rows(study: PeekingStudy) -> list[list[str]]:
    """One row per pair, smallest true effect first; per method: power, mean stopping day, estimate at stop."""
    rows = []
    for label in sorted(study.ab, key=lambda pair: abs(study.true_effects[pair][0])):
        truth, error = study.true_effects[label]
        cells = [f"{s.rate:.0%} · {_day(s)} · {_overshoot(s)}" for s in study.ab[label]]
        rows.append([f"{label}: {study.names[label]}", f"{truth:+.2f} ± {error:.2f}", *cells])
    return rows


_AA_HEADER = ("method", "runs that stopped", "false-positive rate [95 % Wilson]", "mean stopping day")
_AB_HEADER = ("pair", "true effect % (± se)", *(_LABELS[m] for m in PEEKING_METHODS))


_AB_NOTE = ("Each method's cell: power (share of runs that stopped) · mean stopping day · mean ratio of the estimate "
            "at the stop to the true effect (over stops of the true effect's sign). The true effect is the last "
            "day's, so a ratio off 1 also reflects how the effect moves over the days, not only stopping on a "
            "high: the fixed test's column shows that part alone.")


def _intro(study: PeekingStudy) -> str:
    o = study.options
    return (f"{o.days} daily looks at `{o.metric}` (as it stands each day), α = {o.alpha}, world `{o.world_dir}`, "
            f"experiment `{o.experiment.name}`; A/A: {o.runs:,} runs of the control split in two; A/B: "
            f"{o.ab_runs:,} runs of the whole experiment, true effect = the mean last-day effect over them. Each run "
            f"is a fresh simulation (seed {o.seed} + run). GAVI is planned for the run's last-day users, GST for its "
            "last-day information (1/variance).")


def markdown(study: PeekingStudy) -> str:
    """The report: A/A false positives, then power, stopping day and overshoot per pair."""
    table = markdown_table
    return (f"# Peeking: daily looks at a running experiment\n\n{_intro(study)}\n\n## A/A: false positives\n\n"
            + table(_AA_HEADER, _aa_rows(study)) + "\n## A/B: power, stopping day, overshoot\n\n" + _AB_NOTE
            + "\n\n" + table(_AB_HEADER, _ab_rows(study)))


def rich_tables(study: PeekingStudy) -> Table:
    """The A/A table for the terminal (the A/B one is in the report)."""
    table = Table(title=f"A/A: {study.options.runs:,} runs, {study.options.days} daily looks")
    for column in _AA_HEADER:
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in _aa_rows(study):
        table.add_row(*row)
    return table


def render_page(study: PeekingStudy) -> str:
    """Self-contained HTML: the false-positive rates against α, the power per pair, both tables."""
    figures = Figures()
    methods = [_LABELS[m] for m in PEEKING_METHODS]
    rates = [s.rate for s in study.aa]
    errors_up = [s.rate_high - s.rate for s in study.aa]
    errors_down = [s.rate - s.rate_low for s in study.aa]
    fp = go.Figure(go.Bar(x=methods, y=rates, error_y={"type": "data", "array": errors_up,
                                                       "arrayminus": errors_down}))
    fp.add_hline(y=study.options.alpha, line_dash="dot", annotation_text=f"α = {study.options.alpha}")
    fp.update_layout(title="A/A: false-positive rate per method (95 % Wilson interval)", yaxis_tickformat=".0%")
    order = sorted(study.ab, key=lambda pair: abs(study.true_effects[pair][0]))
    power = go.Figure([go.Bar(name=_LABELS[method], x=order, y=[study.ab[label][i].rate for label in order])
                       for i, method in enumerate(PEEKING_METHODS)])
    power.update_layout(title="A/B: power per pair (smallest true effect first) and method", yaxis_tickformat=".0%",
                        barmode="group")
    table = html_table
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Peeking study</title><style>{STYLE}</style>"
            f"</head><body><h1>Peeking: daily looks at a running experiment</h1><p>{html.escape(_intro(study))}</p>"
            f"<h2>A/A: false positives</h2>{figures.html(fp, 'false-positives')}{table(_AA_HEADER, _aa_rows(study))}"
            f"<h2>A/B: power, stopping day, overshoot</h2>{figures.html(power, 'power')}<p>{html.escape(_AB_NOTE)}</p>"
            f"{table(_AB_HEADER, _ab_rows(study))}</body></html>")
