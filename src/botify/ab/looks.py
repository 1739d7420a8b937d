"""Looks at a running experiment: each arm's metrics as they stood at every look, and the sequential table.

A look is a cut in time (a calendar day of a multi-day run, or one of K equal slices of the logs' time span). At
look ``k`` each user's metrics are computed from their sessions that ended by then, so a user's value can change
from look to look, as on a dashboard refreshed daily. Per-user metrics are compared as means over users; the pooled
time per session (``pooled_time_per_session``: all listened time over all sessions) goes through the delta method.
Every look's difference and its variance then go to ``botify.ab.sequential``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.ab.metrics import REPORT_METRICS, UserMetrics, user_metrics
from botify.ab.ratio import linearized
from botify.ab.sequential import sequential_looks
from botify.errors import ConfigError
from botify.experiments import arm_name

__all__ = ["POOLED_RATIO", "SEQUENTIAL_METRICS", "ArmLooks", "SequentialResult", "SequentialRow", "arm_looks",
           "look_correlation", "looks_by_slices", "sequential_analysis"]

POOLED_RATIO = "pooled_time_per_session"
SEQUENTIAL_METRICS = (*REPORT_METRICS, POOLED_RATIO)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ArmLooks:
    """One arm's users, metric mean and per-user variance (``ddof=1``) at each look.

    For ``pooled_time_per_session`` the mean is the pooled ratio and the variance is users × its delta-method
    variance, so that ``variance / users`` is the ratio's variance as for a mean.
    """

    users: IntArray
    mean: FloatArray
    variance: FloatArray
    covariance: FloatArray | None = None
    """Looks × looks: the covariance of the arm's estimates at two looks (their variance on the diagonal), from the
    users present at both; the looks share users whose values move, so it is not the independent-increment one."""


def looks_by_slices(end_ms: npt.ArrayLike, looks: int) -> IntArray:
    """The look of each session when the logs' time span is cut into ``looks`` equal slices (by its end time)."""
    if looks < 1:
        raise ConfigError(f"`looks` must be >= 1, got {looks}")
    end = np.asarray(end_ms, dtype=np.int64)
    if not len(end):
        return np.zeros(0, dtype=np.int64)
    first, span = int(end.min()), int(end.max()) - int(end.min()) + 1
    return np.minimum((end - first) * looks // span, looks - 1).astype(np.int64)


def _estimate(metrics: UserMetrics, rows: npt.NDArray[np.bool_], metric: str) -> tuple[float, FloatArray]:
    """The arm's estimate at a look (NaN under two users) and each user's value in it.

    The value is the metric itself, or the pooled ratio's delta-method linearization (``botify.ab.ratio.linearized``).
    """
    if metric == POOLED_RATIO:
        time, sessions = metrics.time[rows], metrics.sessions[rows]
        if not len(sessions):
            return float("nan"), time
        ratio, values = linearized(time, sessions)
    else:
        values = metrics.metric(metric)[rows]
        ratio = float(values.mean()) if len(values) else float("nan")
    return (ratio if len(values) >= 2 else float("nan")), values


def arm_looks(user: npt.ArrayLike, arm: npt.ArrayLike, look: npt.ArrayLike, time: npt.ArrayLike,
              tracks: npt.ArrayLike, latency_ms: npt.ArrayLike | None = None, *, looks: int,
              metrics: tuple[str, ...] = SEQUENTIAL_METRICS) -> dict[str, dict[int, ArmLooks]]:
    """Per metric and arm: the cumulative figures at looks ``0 .. looks - 1`` from sessions (one row each).

    Each user's value at each look is kept; their covariances give every look's variance and the covariance of the
    estimates between looks (``ArmLooks.covariance``).
    """
    unknown = sorted(set(metrics) - set(SEQUENTIAL_METRICS))
    if unknown:
        raise ConfigError(f"unknown sequential metric(s) {unknown}; expected some of {list(SEQUENTIAL_METRICS)}")
    user, arm, look = (np.asarray(a, dtype=np.int64) for a in (user, arm, look))
    time, tracks = np.asarray(time, dtype=np.float64), np.asarray(tracks, dtype=np.float64)
    latency = np.zeros(len(user)) if latency_ms is None else np.asarray(latency_ms, dtype=np.float64)
    arms = sorted(set(arm.tolist()))
    everyone = {a: np.unique(user[arm == a]) for a in arms}
    means = {(m, a): np.full(looks, np.nan) for m in metrics for a in arms}
    values = {(m, a): np.full((len(everyone[a]), looks), np.nan) for m in metrics for a in arms}
    for k in range(looks):
        rows = look <= k
        at_look = user_metrics(user[rows], arm[rows], time[rows], tracks[rows], latency[rows])
        for a in arms:
            in_arm = at_look.arm == a
            position = np.searchsorted(everyone[a], at_look.user[in_arm])
            for name in metrics:
                means[(name, a)][k], values[(name, a)][position, k] = _estimate(at_look, in_arm, name)
    figures: dict[str, dict[int, ArmLooks]] = {name: {} for name in metrics}
    for (name, a), per_user in values.items():
        users = (~np.isnan(per_user)).sum(axis=0).astype(np.int64)
        covariance = _look_covariance(per_user)
        figures[name][a] = ArmLooks(users, means[(name, a)], np.diag(covariance) * users, covariance)
    return figures


def _look_covariance(values: FloatArray) -> FloatArray:
    """Cov(estimate at look j, at look k) = cov over the users present at j of their two values, over n_k.

    A user present at look j is present at every later look (looks are cumulative). Looks with fewer than two users
    are NaN.
    """
    present = ~np.isnan(values)
    n = present.sum(axis=0)
    looks = values.shape[1]
    out = np.full((looks, looks), np.nan)
    for j in range(looks):
        both = present[:, j]
        if both.sum() < 2:
            continue
        block = np.cov(values[both][:, j:], rowvar=False, ddof=1).reshape(looks - j, looks - j)[0]
        out[j, j:] = out[j:, j] = block / n[j:]
    return out


def look_correlation(t: ArmLooks, c: ArmLooks, looks: IntArray | None = None) -> FloatArray | None:
    """The correlation of the difference's z-statistics between looks (None if an arm has no covariance)."""
    if t.covariance is None or c.covariance is None:
        return None
    chosen = np.arange(len(t.users)) if looks is None else looks
    covariance = (t.covariance + c.covariance)[np.ix_(chosen, chosen)]
    if not np.all(np.isfinite(covariance)):
        return None
    sd = np.sqrt(np.diag(covariance))
    correlation: FloatArray = covariance / np.outer(sd, sd)
    return correlation


@dataclass(frozen=True)
class SequentialRow:
    """One treatment, one metric, one look; effect and always-valid interval in % of the control mean at the look."""

    treatment: str
    metric: str
    look: int
    users: int
    control_mean: float
    effect: float
    lower: float
    upper: float
    pvalue: float
    stopped: bool


@dataclass(frozen=True)
class SequentialResult:
    """Every look of every (treatment, metric) pair, and the look at which each would stop (``None``: never)."""

    method: str
    alpha: float
    rows: list[SequentialRow]
    stops: dict[tuple[str, str], int | None]

    def stop_lines(self, metric: str) -> list[str]:
        """One line per treatment: at which look ``metric``'s always-valid interval first excluded 0."""
        lines = []
        for (treatment, name), stop in self.stops.items():
            if name != metric:
                continue
            if stop is None:
                lines.append(f"{treatment}: {metric} did not cross by the last look ({self.method}, α = {self.alpha})")
                continue
            row = next(r for r in self.rows if (r.treatment, r.metric, r.look) == (treatment, metric, stop))
            lines.append(f"{treatment}: {metric} stops at look {stop} ({row.users:,} users): {row.effect:+.2f} % "
                         f"[{row.lower:+.2f}, {row.upper:+.2f}] ({self.method}, α = {self.alpha})")
        return lines

    def markdown(self, metric: str) -> str:
        """The stop lines, then ``metric``'s looks as a table."""
        header = "| treatment | look | users | effect % | lower % | upper % | always-valid p | stopped |"
        lines = [header, "|" + "---|" * 8]
        lines += [f"| {r.treatment} | {r.look} | {r.users:,} | {r.effect:+.2f} | {r.lower:+.2f} | {r.upper:+.2f} | "
                  f"{r.pvalue:.3g} | {'yes' if r.stopped else 'no'} |" for r in self.rows if r.metric == metric]
        return "".join(f"- {line}\n" for line in self.stop_lines(metric)) + "\n" + "\n".join(lines) + "\n"


def sequential_analysis(figures: dict[str, dict[int, ArmLooks]], *, method: str, control: int = 0,
                        alpha: float = 0.05, max_users: float | None = None, spending: str = "obf",
                        tau: float | None = None) -> SequentialResult:
    """Every treatment against ``control`` on every metric of ``figures`` (from ``arm_looks``) by ``method``.

    Looks where an arm has fewer than two users, or where the metric does not vary yet, are left out.
    ``max_users`` is the planned users of a treatment and the control together (GST's maximum, GAVI's planned
    sample). By default the experiment ran to plan: GAVI is planned for the last look's users, and GST's
    information fraction is the statistical one, the last look's variance over each look's.
    ``tau`` is mSPRT's mixing standard deviation, in the metric's units.
    """
    rows: list[SequentialRow] = []
    stops: dict[tuple[str, str], int | None] = {}
    for metric, per_arm in figures.items():
        if control not in per_arm:
            raise ConfigError(f"no user is in the control arm {arm_name(control)!r}")
        c = per_arm[control]
        for arm, t in per_arm.items():
            if arm == control:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                spread = t.variance / t.users + c.variance / c.users
            usable = np.flatnonzero((t.users >= 2) & (c.users >= 2) & (spread > 0))
            treatment = arm_name(arm)
            stops[(treatment, metric)] = None
            if not len(usable):
                continue
            looks = sequential_looks(method, t.users[usable], t.mean[usable], t.variance[usable], c.users[usable],
                                     c.mean[usable], c.variance[usable], alpha=alpha, max_users=max_users,
                                     spending=spending, tau=tau, correlation=look_correlation(t, c, usable))
            for index, look in zip(usable.tolist(), looks, strict=True):
                scale = 100 / c.mean[index] if c.mean[index] else float("nan")
                rows.append(SequentialRow(treatment, metric, index, look.users, float(c.mean[index]),
                                          look.estimate * scale, look.lower * scale, look.upper * scale,
                                          look.pvalue, look.stopped))
                if look.stopped and stops[(treatment, metric)] is None:
                    stops[(treatment, metric)] = index
    return SequentialResult(method, alpha, rows, stops)
