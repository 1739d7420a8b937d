"""Optional report sections beside the reference table: bootstrap, delta-method ratio, CUPED, sequential looks."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.ab.analyze import Analysis, pre_period_metric
from botify.ab.bootstrap import bootstrap_relative_effect
from botify.ab.cuped import cuped
from botify.ab.longterm import Calendar
from botify.ab.looks import (
    POOLED_RATIO,
    SEQUENTIAL_METRICS,
    SequentialResult,
    arm_looks,
    looks_by_slices,
    sequential_analysis,
)
from botify.ab.metrics import REPORT_METRICS
from botify.ab.ratio import cuped_ratio_test, delta_ratio_test
from botify.ab.segments import SegmentReport, analyze_segments, segment_labels
from botify.ab.stats import welch_ttest
from botify.logs.reader import arm_index
from botify.segment_plan import SegmentPlan

__all__ = ["bootstrap_section", "cuped_section", "ratio_section", "segment_report", "sequential_result",
           "sequential_section", "session_looks"]


def _treatments(analysis: Analysis) -> list[str]:
    return sorted({row.treatment for row in analysis.rows}, key=arm_index)


def bootstrap_section(analysis: Analysis, resamples: int, *, alpha: float = 0.05, seed: int = 0) -> str:
    """Percentile-bootstrap interval of every per-user metric's relative effect."""
    m = analysis.metrics
    lines = [f"Percentile bootstrap ({resamples} resamples, seed {seed}), effect % of control:", "",
             "| treatment | metric | effect % | lower % | upper % |", "|---|---|---|---|---|"]
    for row in analysis.rows:
        if row.metric not in REPORT_METRICS:
            continue
        values = m.metric(row.metric)
        boot = bootstrap_relative_effect(values[m.arm == arm_index(row.treatment)],
                                         values[m.arm == arm_index(row.control)], resamples=resamples,
                                         alpha=alpha, seed=seed)
        lines.append(f"| {row.treatment} | {row.metric} | {boot.effect:+.2f} | {boot.lower:+.2f} | {boot.upper:+.2f} |")
    return "\n".join(lines) + "\n"


def ratio_section(analysis: Analysis, *, alpha: float = 0.05) -> str:
    """Time per session pooled over each arm's sessions, compared by the delta method."""
    m = analysis.metrics
    base = m.arm == arm_index(analysis.control)
    lines = ["Time per session pooled over sessions (delta method, normal interval), effect % of control:", "",
             "| treatment | control ratio | treatment ratio | effect % | lower % | upper % | p |",
             "|---|---|---|---|---|---|---|"]
    for treatment in _treatments(analysis):
        rows = m.arm == arm_index(treatment)
        result = delta_ratio_test(m.time[rows], m.sessions[rows], m.time[base], m.sessions[base], alpha=alpha)
        lines.append(f"| {treatment} | {result.control:.4g} | {result.treatment:.4g} | {result.effect:+.2f} | "
                     f"{result.lower:+.2f} | {result.upper:+.2f} | {result.pvalue:.3g} |")
    return "\n".join(lines) + "\n"


def cuped_section(analysis: Analysis, pre_logs: Iterable[str | Path], *, alpha: float = 0.05) -> str:
    """Welch comparisons of CUPED-adjusted per-user means, the covariate taken from earlier logs."""
    m = analysis.metrics
    pre_logs = list(pre_logs)
    base = m.arm == arm_index(analysis.control)
    lines = ["CUPED with the same metric from the pre-period logs, effect % of control:", "",
             "| treatment | metric | effect % | lower % | upper % | variance reduction | users with history |",
             "|---|---|---|---|---|---|---|"]
    for name in ("mean_time_per_session", "mean_tracks_per_session"):
        arms = np.where(base, -1, m.arm)  # control first: its variance reduction is reported
        adjusted = cuped(m.metric(name), pre_period_metric(pre_logs, m.user, name, memory=analysis.memory), arms)
        mean = float(m.metric(name)[base].mean())
        for treatment in _treatments(analysis):
            rows = m.arm == arm_index(treatment)
            test = welch_ttest(adjusted.adjusted[rows], adjusted.adjusted[base], alpha=alpha)
            lines.append(f"| {treatment} | {name} | {100 * test.estimate / mean:+.2f} | "
                         f"{100 * test.ci_low / mean:+.2f} | {100 * test.ci_high / mean:+.2f} | "
                         f"{adjusted.variance_reduction:.1%} | {adjusted.covered:.0%} |")
    pre_time, pre_sessions = (np.nan_to_num(pre_period_metric(pre_logs, m.user, name, memory=analysis.memory), nan=0.0)
                              for name in ("time", "sessions"))
    control = (m.time[base], m.sessions[base], pre_time[base], pre_sessions[base])
    for treatment in _treatments(analysis):
        rows = m.arm == arm_index(treatment)
        result = cuped_ratio_test((m.time[rows], m.sessions[rows], pre_time[rows], pre_sessions[rows]), control,
                                  alpha=alpha)
        history = float((pre_sessions > 0).mean())
        lines.append(f"| {treatment} | {POOLED_RATIO} | {result.effect:+.2f} | {result.lower:+.2f} | "
                     f"{result.upper:+.2f} | {result.variance_reduction:.1%} | {history:.0%} |")
    return "\n".join(lines) + "\n"


def session_looks(analysis: Analysis, looks: int | None = None,
                  calendar: str | Path | None = None) -> tuple[npt.NDArray[np.int64], int, str]:
    """Each session's look, the number of looks and how they were cut.

    ``looks`` equal slices of the log time if given, else the calendar's days, else 10 slices.
    """
    if looks is None and calendar is not None:
        days = Calendar.load(calendar)
        return days.day_of(analysis.sessions.end), days.days, "the calendar's days"
    count = looks or 10
    return looks_by_slices(analysis.sessions.end, count), count, f"{count} equal slices of the log time"


def sequential_result(analysis: Analysis, *, method: str, looks: int | None = None,
                      calendar: str | Path | None = None, alpha: float = 0.05, max_users: float | None = None,
                      spending: str = "obf", tau: float | None = None) -> tuple[SequentialResult, str]:
    """Every metric of the table and the pooled time per session at each look, and how the looks were cut.

    Looks as ``session_looks`` cuts them.
    """
    look, count, looks_from = session_looks(analysis, looks, calendar)
    s = analysis.sessions
    figures = arm_looks(s.user, s.arm, look, s.time, s.tracks, s.latency_ms, looks=count, metrics=SEQUENTIAL_METRICS)
    return sequential_analysis(figures, method=method, control=arm_index(analysis.control), alpha=alpha,
                               max_users=max_users, spending=spending, tau=tau), looks_from


def sequential_section(result: SequentialResult, looks_from: str, primary: str) -> str:
    """Where each treatment would stop on every metric, and the primary metric's looks."""
    metrics = list(dict.fromkeys(row.metric for row in result.rows))
    lines = [f"Sequential analysis ({result.method}, α = {result.alpha}), looks: {looks_from}; always-valid "
             "intervals in % of the control mean at each look:", ""]
    for metric in metrics:
        lines += [f"- {line}" for line in result.stop_lines(metric)]
    return "\n".join(lines) + f"\n\nLooks of `{primary}`:\n\n" + result.markdown(primary).split("\n\n", 1)[1]


def segment_report(analysis: Analysis, plan: SegmentPlan, *, genre_names: list[str] | None = None,
                   genre_of_track: npt.NDArray[np.int16] | None = None, pre_logs: Iterable[str | Path] = (),
                   alpha: float = 0.05) -> SegmentReport:
    """The primary metric by every segment dimension of ``plan`` (the analysis must keep first tracks).

    Segments compare per-user means: a quantile primary metric is broken down as ``mean_time_per_session``.
    """
    m = analysis.metrics
    pre_logs = list(pre_logs)
    first_genre = None
    if genre_names is not None and genre_of_track is not None and analysis.first_track is not None:
        known = analysis.first_track >= 0
        first_genre = np.where(known, np.array(genre_names)[genre_of_track[np.maximum(analysis.first_track, 0)]],
                               "unknown")
    pre_sessions = pre_period_metric(pre_logs, m.user, "sessions", memory=analysis.memory) if pre_logs else None
    labels = {spec.by: segment_labels(spec, first_genre=first_genre, pre_sessions=pre_sessions)
              for spec in plan.specs}
    return analyze_segments(m, labels, plan, metric=analysis.plan.primary.name if analysis.plan.primary.name in
                            REPORT_METRICS else "mean_time_per_session", control=arm_index(analysis.control),
                            alpha=alpha)
