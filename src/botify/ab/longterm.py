"""Long-term metrics of a multi-day experiment: retention, active days, sessions and time per user, daily effects.

Input is one row per session with its day (``DailySessions``). Users are the ones who had at least one session
in the horizon; whether a user ever comes does not depend on the arm before their first session, so every arm's
population is drawn alike. Per user:

* ``active_days`` — days with at least one session; ``sessions_per_user``; ``time_per_user`` (listened time);
* ``retention_dK`` — for the users active on the first day (the day-0 cohort), 1 if active on day ``K`` else 0.

``retention_curve`` is the share of a cohort active ``k`` days after its first day, pooled over cohorts (users
by the day of their first session) with ``k`` days still inside the horizon. ``daily_effects`` compares the arms
on one per-session metric day by day (novelty and primacy show as a trend), and ``cuped_long_term`` adjusts a
horizon metric with the same metric over pre-period days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.ab.cuped import cuped
from botify.ab.metrics import user_metrics
from botify.ab.stats import welch_ttest
from botify.ab.table import Comparison, compare_arms, render_markdown
from botify.errors import ConfigError
from botify.experiments import arm_name
from botify.logs.sessions import Sessions

__all__ = ["LONG_TERM_METRICS", "Calendar", "CupedResult", "DailySessions", "UserColumns", "compare_long_term",
           "cuped_long_term", "daily_effects", "horizon_metrics", "long_term_markdown", "retention_curve",
           "retention_days"]

LONG_TERM_METRICS = ("active_days", "sessions_per_user", "time_per_user")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DailySessions:
    """One row per session: its user, the user's arm, the day it was played, its time and tracks."""

    user: IntArray
    arm: IntArray
    day: IntArray
    time: FloatArray
    tracks: IntArray
    days: int

    def __post_init__(self) -> None:
        n = len(self.user)
        if any(len(column) != n for column in (self.arm, self.day, self.time, self.tracks)):
            raise ConfigError("`user`, `arm`, `day`, `time` and `tracks` must have one value per session")
        if n and (self.day.min() < 0 or self.day.max() >= self.days):
            raise ConfigError(f"days must be in [0, {self.days}), got {self.day.min()}..{self.day.max()}")

    @classmethod
    def from_logs(cls, sessions: Sessions, calendar: Calendar) -> DailySessions:
        """Sessions cut from the service's logs, each on the calendar day its last line was logged."""
        return cls(sessions.user, sessions.arm, calendar.day_of(sessions.end), sessions.time, sessions.tracks,
                   calendar.days)

    def between(self, first: int, stop: int) -> DailySessions:
        """The sessions of days ``first .. stop - 1``, renumbered from day 0."""
        rows = (self.day >= first) & (self.day < stop)
        return DailySessions(self.user[rows], self.arm[rows], self.day[rows] - first, self.time[rows],
                             self.tracks[rows], stop - first)


@dataclass(frozen=True)
class Calendar:
    """The wall-clock span of each simulated day (ms since the epoch), to read days off the service's timestamps.

    A multi-day run over HTTP writes it (``calendar.json``: ``{"days": [[start, end], ...]}``); a session belongs to
    the day whose span holds its last line's timestamp.
    """

    start: IntArray
    end: IntArray

    @classmethod
    def load(cls, path: str | Path) -> Calendar:
        """Read ``calendar.json``; a clear error for anything else."""
        try:
            spans = json.loads(Path(path).read_text())["days"]
            start, end = (np.array([int(span[i]) for span in spans], dtype=np.int64) for i in (0, 1))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
            raise ConfigError(f"{path} is not a calendar ({{\"days\": [[start_ms, end_ms], ...]}}): {error}") from error
        if not len(start) or (start > end).any() or (start[1:] <= end[:-1]).any():
            raise ConfigError(f"{path}: days must be non-empty, each start <= end, in order without overlap")
        return cls(start, end)

    def save(self, path: str | Path) -> None:
        """Write ``calendar.json``."""
        spans = [[int(a), int(b)] for a, b in zip(self.start.tolist(), self.end.tolist(), strict=True)]
        Path(path).write_text(json.dumps({"days": spans}) + "\n")

    @property
    def days(self) -> int:
        """Number of days."""
        return len(self.start)

    def days_from(self, first: int) -> Calendar:
        """The calendar from day ``first`` on, renumbered from 0."""
        return Calendar(self.start[first:], self.end[first:])

    def days_until(self, stop: int) -> Calendar:
        """The calendar of days ``0 .. stop - 1``."""
        return Calendar(self.start[:stop], self.end[:stop])

    def day_of(self, timestamps: IntArray) -> IntArray:
        """The day of each timestamp; a ``ConfigError`` if one falls outside every day."""
        day = np.searchsorted(self.start, timestamps, side="right") - 1
        inside = (day >= 0) & (timestamps <= self.end[np.maximum(day, 0)])
        if not inside.all():
            raise ConfigError(f"{int((~inside).sum()):,} sessions end outside every day of the calendar "
                              f"(first at {int(timestamps[~inside][0])} ms); is it the calendar of these logs?")
        return day.astype(np.int64)


@dataclass(frozen=True)
class UserColumns:
    """Per-user values (one row per user, sorted by arm then user), by metric name."""

    user: IntArray
    arm: IntArray
    columns: dict[str, FloatArray] = field(default_factory=dict)

    def metric(self, name: str) -> FloatArray:
        """A metric column by name."""
        return self.columns[name]

    def take(self, rows: npt.NDArray[np.bool_]) -> UserColumns:
        """The given rows."""
        return UserColumns(self.user[rows], self.arm[rows], {k: v[rows] for k, v in self.columns.items()})


def _active(sessions: DailySessions, n_users: int) -> npt.NDArray[np.bool_]:
    """``active[user, day]``."""
    active = np.zeros((n_users, sessions.days), dtype=np.bool_)
    active[sessions.user, sessions.day] = True
    return active


def retention_days(days: int) -> tuple[int, ...]:
    """The retention days a horizon reports: day 1, day 7 and its last day, those it has."""
    return tuple(sorted({k for k in (1, 7, days - 1) if 0 < k < days}))


def horizon_metrics(sessions: DailySessions, retention_days: tuple[int, ...] = ()) -> UserColumns:
    """The per-user horizon metrics, and ``retention_dK`` of the day-0 cohort for each ``K`` in ``retention_days``."""
    per_user = user_metrics(sessions.user, sessions.arm, sessions.time, sessions.tracks)
    n_users = int(sessions.user.max()) + 1 if len(sessions.user) else 0
    active = _active(sessions, n_users)[per_user.user]
    columns = {"active_days": active.sum(axis=1).astype(np.float64), "sessions_per_user": per_user.sessions,
               "time_per_user": per_user.time}
    for k in retention_days:
        if not 0 < k < sessions.days:
            raise ConfigError(f"retention day must be in [1, {sessions.days - 1}], got {k}")
        columns[f"retention_d{k}"] = np.where(active[:, 0], active[:, k].astype(np.float64), np.nan)
    return UserColumns(per_user.user, per_user.arm, columns)


def retention_curve(sessions: DailySessions, arm: int | None = None) -> FloatArray:
    """Share of users active ``k`` days after their first day, for ``k = 0 .. days - 1`` (pooled over cohorts)."""
    rows = np.ones(len(sessions.user), np.bool_) if arm is None else sessions.arm == arm
    users = sessions.user[rows]
    if not len(users):
        return np.full(sessions.days, np.nan)
    active = _active(DailySessions(users, sessions.arm[rows], sessions.day[rows], sessions.time[rows],
                                   sessions.tracks[rows], sessions.days), int(users.max()) + 1)
    came = active.any(axis=1)
    first = np.argmax(active, axis=1)[came]
    active = active[came]
    curve = np.empty(sessions.days)
    for k in range(sessions.days):
        cohort = first + k < sessions.days
        curve[k] = active[np.flatnonzero(cohort), first[cohort] + k].mean() if cohort.any() else np.nan
    return curve


def compare_long_term(sessions: DailySessions, *, control: int = 0, retention_days: tuple[int, ...] = (),
                      alpha: float = 0.05) -> list[Comparison]:
    """Welch test of every arm against ``control`` on the horizon metrics and the cohort's retention."""
    metrics = horizon_metrics(sessions, retention_days)
    rows = compare_arms(metrics, control=control, metric_names=LONG_TERM_METRICS, alpha=alpha)
    for k in retention_days:
        name = f"retention_d{k}"
        cohort = metrics.take(~np.isnan(metrics.metric(name)))
        rows += compare_arms(cohort, control=control, metric_names=(name,), alpha=alpha)
    order = {arm_name(a): a for a in np.unique(sessions.arm).tolist()}
    return sorted(rows, key=lambda row: order.get(row.treatment, 0))


def daily_effects(sessions: DailySessions, *, metric: str = "mean_time_per_session", control: int = 0,
                  alpha: float = 0.05) -> list[list[Comparison]]:
    """For each day, every arm against ``control`` on a per-session metric of that day's users."""
    effects = []
    for day in range(sessions.days):
        rows = sessions.day == day
        per_user = user_metrics(sessions.user[rows], sessions.arm[rows], sessions.time[rows], sessions.tracks[rows])
        effects.append(compare_arms(per_user, control=control, metric_names=(metric,), alpha=alpha)
                       if len(np.unique(per_user.arm)) > 1 else [])
    return effects


@dataclass(frozen=True)
class CupedResult:
    """A horizon metric's effect with and without CUPED, and the variance the pre-period removed."""

    treatment: str
    metric: str
    effect: float
    lower: float
    upper: float
    plain_lower: float
    plain_upper: float
    variance_reduction: float

    def describe(self) -> str:
        """One line for the terminal."""
        return (f"CUPED {self.treatment} {self.metric}: {self.effect:+.2f} % [{self.lower:+.2f}, {self.upper:+.2f}] "
                f"(plain [{self.plain_lower:+.2f}, {self.plain_upper:+.2f}], {self.variance_reduction:.1%} of the "
                "variance removed)")


def cuped_long_term(sessions: DailySessions, pre_days: int, *, metric: str = "time_per_user", control: int = 0,
                    alpha: float = 0.05) -> list[CupedResult]:
    """Compare arms on ``metric`` over the days after ``pre_days``, adjusted by the same metric before them.

    During the pre-period every user was served alike (the arms had not started), so the covariate does not
    depend on the arm; users without pre-period sessions keep their value (``cuped``'s rule).
    """
    if not 0 < pre_days < sessions.days:
        raise ConfigError(f"`pre_days` must be in [1, {sessions.days - 1}], got {pre_days}")
    after = horizon_metrics(sessions.between(pre_days, sessions.days))
    before = horizon_metrics(sessions.between(0, pre_days))
    lookup = dict(zip(before.user.tolist(), before.metric(metric).tolist(), strict=True))
    covariate = np.array([lookup.get(u, np.nan) for u in after.user.tolist()], dtype=np.float64)
    values = after.metric(metric)
    base = after.arm == control
    adjusted = cuped(values, covariate, np.where(base, -1, after.arm))
    mean = float(values[base].mean())
    results = []
    for arm in sorted(set(after.arm.tolist()) - {control}):
        rows = after.arm == arm
        test = welch_ttest(adjusted.adjusted[rows], adjusted.adjusted[base], alpha=alpha)
        plain = welch_ttest(values[rows], values[base], alpha=alpha)
        results.append(CupedResult(arm_name(arm), metric, 100 * test.estimate / mean, 100 * test.ci_low / mean,
                                   100 * test.ci_high / mean, 100 * plain.ci_low / mean, 100 * plain.ci_high / mean,
                                   adjusted.variance_reduction))
    return results


def long_term_markdown(sessions: DailySessions, *, control: int = 0, alpha: float = 0.05) -> str:
    """The horizon's section of a report: the long-term table, retention curves and the daily effects."""
    arms = sorted(set(sessions.arm.tolist()))
    rows = compare_long_term(sessions, control=control, retention_days=retention_days(sessions.days), alpha=alpha)
    curves = [retention_curve(sessions, arm) for arm in arms]
    lines = [f"## Over the horizon ({sessions.days} simulated days)", "", render_markdown(rows),
             "Retention: share of a cohort active k days after its first day.", "",
             "| k | " + " | ".join(arm_name(a) for a in arms) + " |", "|---|" + "---|" * len(arms)]
    lines += [f"| {k} | " + " | ".join(f"{c[k]:.3f}" for c in curves) + " |" for k in range(sessions.days)]
    lines += ["", "mean_time_per_session, effect per day (% of control, 95 % interval):", "",
              "| day | treatment | effect % | lower % | upper % |", "|---|---|---|---|---|"]
    for day, day_rows in enumerate(daily_effects(sessions, control=control, alpha=alpha)):
        lines += [f"| {day} | {r.treatment} | {r.effect:+.2f} | {r.lower:+.2f} | {r.upper:+.2f} |" for r in day_rows]
    return "\n".join(lines) + "\n"
