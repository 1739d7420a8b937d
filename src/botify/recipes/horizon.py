"""Terminal tables of a multi-day run under the return model: each arm by day, the long-term A/B, retention curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table

from botify.ab.longterm import Calendar, DailySessions, compare_long_term, retention_curve, retention_days
from botify.ab.table import render_rich
from botify.experiments import ExperimentPlan
from botify.sim.days import Horizon

__all__ = ["arms_by_day", "daily_sessions", "long_term_table", "retention_table", "write_calendar"]


def daily_sessions(horizon: Horizon, plan: ExperimentPlan) -> DailySessions:
    """The horizon's sessions with each user's arm in the plan's routing experiment."""
    sessions = horizon.sessions
    return DailySessions(sessions.user, plan.routing.assign_many(sessions.user), horizon.day, sessions.time,
                         sessions.tracks, horizon.days)


def write_calendar(horizon: Horizon, path: Path) -> None:
    """Write the days' wall-clock spans, which map the service's log timestamps to days."""
    path.parent.mkdir(parents=True, exist_ok=True)
    start, end = (np.array([span[i] for span in horizon.calendar], dtype=np.int64) for i in (0, 1))
    Calendar(start, end).save(path)


def arms_by_day(sessions: DailySessions, labels: list[str]) -> Table:
    """Active users, sessions and mean session time of every arm on every day."""
    table = Table(title="each arm by day: active users / sessions / mean session time")
    table.add_column("day", justify="right")
    for label in labels:
        table.add_column(label, justify="right")
    for day in range(sessions.days):
        cells = []
        for arm in range(len(labels)):
            rows = (sessions.day == day) & (sessions.arm == arm)
            mean = f"{sessions.time[rows].mean():.3f}" if rows.any() else "–"
            cells.append(f"{len(np.unique(sessions.user[rows])):,} / {int(rows.sum()):,} / {mean}")
        table.add_row(str(day), *cells)
    return table


def retention_table(sessions: DailySessions, labels: list[str]) -> Table:
    """Every arm's retention curve: the share of a cohort active k days after its first day."""
    table = Table(title="retention: share of a cohort active k days after its first day")
    table.add_column("k", justify="right")
    curves = [retention_curve(sessions, arm) for arm in range(len(labels))]
    for label in labels:
        table.add_column(label, justify="right")
    for k in range(sessions.days):
        table.add_row(str(k), *(f"{curve[k]:.3f}" for curve in curves))
    return table


def long_term_table(sessions: DailySessions, title: str) -> Table:
    """The long-term A/B table (Welch, every arm against the first)."""
    return render_rich(compare_long_term(sessions, retention_days=retention_days(sessions.days)), title=title)
