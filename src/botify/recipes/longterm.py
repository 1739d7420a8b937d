"""The long-term experiment: arms served over real HTTP for days under the return model, then who won when.

It answers the question short A/B tests cannot: does the arm that wins the first day's session time also keep
users coming back? Day 0's mean session time is the short-term metric; listened time per user over the horizon
and the last day's retention are the long-term ones. The report shows the retention curves and the daily effects.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rich.console import Console

from botify.ab.analyze import Analysis, analyze_logs
from botify.ab.html import render_html
from botify.ab.longterm import (
    LONG_TERM_METRICS,
    Calendar,
    CupedResult,
    DailySessions,
    compare_long_term,
    cuped_long_term,
    daily_effects,
    long_term_markdown,
    retention_days,
)
from botify.ab.table import Comparison, render_markdown, render_rich
from botify.errors import LabError
from botify.experiments import ExperimentPlan, load_experiments
from botify.recipes import CONCURRENCY, PIPELINE
from botify.recipes.horizon import arms_by_day, retention_table, write_calendar
from botify.recipes.progress import progress_bars
from botify.service.process import ServiceProcess
from botify.sim.agents.remote import RemoteAgent
from botify.sim.days import play_days
from botify.sim.world import load_sim_world
from botify.world.catalog import CATALOG_DIR
from botify.world.config import WorldConfig
from botify.world.generate import write_world

__all__ = ["LongTermOptions", "Winners", "run_long_term", "winners"]


@dataclass(frozen=True)
class LongTermOptions:
    """Where and how long to run."""

    world_dir: Path
    experiment: Path
    artifacts: Path
    out: Path
    days: int = 15
    seed: int = 31337
    concurrency: int = CONCURRENCY
    pre_days: int = 0
    """Days before the experiment, every user served by the control arm: the CUPED covariate's period."""
    pipeline: int = PIPELINE


@dataclass(frozen=True)
class Winners:
    """The best arm by the short-term metric and by each long-term one (None: no arm beat control significantly)."""

    short_term: str | None
    long_term_time: str | None
    long_term_retention: str | None
    reversals: tuple[str, ...] = ()
    """Arms significantly better than control on day 0 and significantly worse over the horizon, or the reverse."""

    def describe(self) -> str:
        """Whether the short-term and long-term winners agree, and which arms reverse against control."""
        def name(arm: str | None) -> str:
            return arm or "none (no arm significantly above control)"

        agree = self.short_term == self.long_term_time == self.long_term_retention
        text = (f"short-term winner (day 0, mean_time_per_session): {name(self.short_term)}; long-term winner by "
                f"time_per_user: {name(self.long_term_time)}, by last-day retention: "
                f"{name(self.long_term_retention)} — {'they agree' if agree else 'they DISAGREE'}")
        return text + "".join(f"; {reversal}" for reversal in self.reversals)


def _best(rows: list[Comparison], metric: str, control: str) -> str | None:
    """The arm with the highest mean on ``metric``: control unless a treatment is significantly above it."""
    candidates = [r for r in rows if r.metric == metric]
    above = [r for r in candidates if r.significant and r.effect > 0]
    if above:
        return max(above, key=lambda r: r.treatment_mean).treatment
    below_all = candidates and all(r.significant and r.effect < 0 for r in candidates)
    return control if below_all else None


def winners(sessions: DailySessions) -> Winners:
    """Who wins day 0 and who wins the horizon."""
    first_day = daily_effects(sessions)[0]
    horizon = compare_long_term(sessions, retention_days=retention_days(sessions.days))
    last = f"retention_d{sessions.days - 1}"
    control = horizon[0].control if horizon else "C"
    reversals = []
    for day_row in first_day:
        later = next(r for r in horizon if r.treatment == day_row.treatment and r.metric == "time_per_user")
        if day_row.significant and later.significant and (day_row.effect > 0) != (later.effect > 0):
            reversals.append(f"{day_row.treatment} reverses against {control}: day 0 {day_row.effect:+.2f} % "
                             f"[{day_row.lower:+.2f}, {day_row.upper:+.2f}], time_per_user over the horizon "
                             f"{later.effect:+.2f} % [{later.lower:+.2f}, {later.upper:+.2f}]")
    return Winners(_best(first_day, "mean_time_per_session", control), _best(horizon, "time_per_user", control),
                   _best(horizon, last, control), tuple(reversals))


def run_long_term(options: LongTermOptions, console: Console) -> Winners:
    """Serve the experiment, play ``days`` days over HTTP, print and write the long-term report."""
    if not (options.artifacts / "dssm").is_dir():
        raise LabError(f"no models in {options.artifacts}; run `botify demo` first (it trains DSSM and Contextual), "
                       "or pass --artifacts")
    if not (options.world_dir / CATALOG_DIR).is_dir():
        with console.status(f"generating the default world with the return model in {options.world_dir}"):
            write_world(options.world_dir, WorldConfig(return_model=True), seed=0)
    world = load_sim_world(options.world_dir)
    if world.truth.returns is None:
        raise LabError(f"{options.world_dir} has no return model; generate one with "
                       "`botify world generate --set return_model=true`")
    plan = load_experiments(options.experiment)
    options.out.mkdir(parents=True, exist_ok=True)
    log_dir, pre_log_dir = options.out / "logs", options.out / "pre-logs"
    for stale in (log_dir, pre_log_dir):
        shutil.rmtree(stale, ignore_errors=True)
    pre_config = _write_pre_period_config(plan, options.out / "pre-period.yml")
    services: list[ServiceProcess] = []

    def agent_for_day(day: int) -> RemoteAgent:
        if day in (0, options.pre_days):
            for running in services:
                running.stop()
            pre = day < options.pre_days
            config, logs = (pre_config, pre_log_dir) if pre else (options.experiment, log_dir)
            with console.status("starting the service" + (" for the pre-period" if pre else "")):
                services.append(ServiceProcess(options.world_dir, config=config, log_dir=logs,
                                               extra_args=["--artifacts", str(options.artifacts)]).start())
            what = f"{options.pre_days} pre-period days (everyone on C)" if pre else f"{options.days} days"
            console.print(f"service up at {services[-1].url}; {what} over HTTP (logs in {logs})")
        return RemoteAgent(world, services[-1].url, concurrency=options.concurrency, pipeline=options.pipeline)

    try:
        with progress_bars(console, transient=True) as progress:
            horizon = play_days(agent_for_day(0), world, days=options.pre_days + options.days, seed=options.seed,
                                on_day=lambda s: console.print(s.describe()), agent_for_day=agent_for_day,
                                progress=progress)
    finally:
        with console.status("stopping the service"):
            for service in services:
                service.stop()
    calendar_path = options.out / "calendar.json"
    write_calendar(horizon, calendar_path)
    # The report reads what the service logged, as an A/B team would; the calendar maps its timestamps to days.
    calendar = Calendar.load(calendar_path)
    analysis = analyze_logs([log_dir], plan.routing.name, metrics_plan=plan.metrics)
    sessions = DailySessions.from_logs(analysis.sessions, calendar.days_from(options.pre_days))
    cuped = _cuped_with_pre_period(plan, pre_log_dir, calendar, sessions, options.pre_days)
    labels = [f"{a.label}={a.recommender}" for a in plan.routing.arms]
    rows = compare_long_term(sessions, retention_days=retention_days(options.days))
    first_day = daily_effects(sessions)[0]
    found = winners(sessions)
    console.print(arms_by_day(sessions, labels))
    console.print(retention_table(sessions, labels))
    console.print(render_rich(first_day, title="day 0 (the short-term A/B)"))
    console.print(render_rich(rows, title=f"{plan.routing.name} over {options.days} days"))
    console.print(f"[bold]{found.describe()}[/]")
    for row in cuped:
        console.print(row.describe())
    _write_report(options, analysis, sessions, labels, first_day, found, cuped)
    console.print(f"report: {options.out / 'report.md'} and {options.out / 'report.html'} (from the service's logs "
                  f"and {calendar_path})")
    return found


def _write_pre_period_config(plan: ExperimentPlan, path: Path) -> Path:
    """The pre-period's experiment file: one arm, the experiment's control, for every user."""
    control = plan.routing.arms[0]
    config: dict[str, Any] = {"experiments": [{"name": f"{plan.routing.name}_PRE",
                               "arms": [{"recommender": control.recommender, "params": control.params}]}]}
    if plan.seed is not None:
        config["seed"] = plan.seed
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _cuped_with_pre_period(plan: ExperimentPlan, pre_log_dir: Path, calendar: Calendar, sessions: DailySessions,
                           pre_days: int) -> list[CupedResult]:
    """The horizon's per-user metrics adjusted with the same metrics over the pre-period (empty without one)."""
    if not pre_days:
        return []
    pre = analyze_logs([pre_log_dir], f"{plan.routing.name}_PRE").sessions
    before = DailySessions.from_logs(pre, calendar.days_until(pre_days))
    both = DailySessions(np.concatenate([before.user, sessions.user]),
                         np.concatenate([plan.routing.assign_many(before.user), sessions.arm]),
                         np.concatenate([before.day, sessions.day + pre_days]),
                         np.concatenate([before.time, sessions.time]),
                         np.concatenate([before.tracks, sessions.tracks]), pre_days + sessions.days)
    return [row for metric in LONG_TERM_METRICS for row in cuped_long_term(both, pre_days, metric=metric)]


def _write_report(options: LongTermOptions, analysis: Analysis, sessions: DailySessions, labels: list[str],
                  first_day: list[Comparison], found: Winners, cuped: list[CupedResult]) -> None:
    options.out.mkdir(parents=True, exist_ok=True)
    cuped_text = ""
    if cuped:
        cuped_text = (f"## CUPED with {options.pre_days} pre-period days (everyone on C)\n\n"
                      "| treatment | metric | effect % | CUPED 95 % interval | plain 95 % interval "
                      "| variance removed |\n|---|---|---|---|---|---|\n" + "".join(
                          f"| {r.treatment} | {r.metric} | {r.effect:+.2f} | [{r.lower:+.2f}, {r.upper:+.2f}] | "
                          f"[{r.plain_lower:+.2f}, {r.plain_upper:+.2f}] | {r.variance_reduction:.1%} |\n"
                          for r in cuped) + "\n")
    text = (f"# The long-term experiment\n\n**{found.describe()}**\n\n"
            f"{options.days} days under the return model, over HTTP; arms: {', '.join(labels)}.\n\n"
            f"## Day 0 (the short-term A/B)\n\n{render_markdown(first_day)}\n{long_term_markdown(sessions)}\n"
            f"{cuped_text}## All {options.days} days as one A/B\n\n{analysis.markdown()}")
    (options.out / "report.md").write_text(text)
    page = render_html(analysis, f"{analysis.experiment}: {options.days} days under the return model",
                       {"logs": str(options.out / "logs"), "calendar": str(options.out / "calendar.json"),
                        "seed": options.seed}, sessions)
    headline = f"<p class='verdict neutral'><strong>{html.escape(found.describe())}</strong></p>"
    verdict = "<section id='verdict'>"
    (options.out / "report.html").write_text(page.replace(verdict, headline + verdict, 1))
