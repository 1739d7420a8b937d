"""The whole analysis: logs → sessions → user metrics → treatment × metric table (and a Markdown report)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.ab.metrics import REPORT_METRICS, UserMetrics, user_metrics
from botify.ab.multiple import SRMResult, sample_ratio_mismatch
from botify.ab.quantiles import QUANTILE_METRICS, ArrayObservations, Observations, compare_quantiles
from botify.ab.stats import RELATIVE_INTERVALS
from botify.ab.table import Comparison, compare_arms, render_markdown, with_holm
from botify.ab.verdict import Verdict, decide
from botify.errors import ConfigError
from botify.experiments import arm_name
from botify.logs.bounded import BoundedLogs
from botify.logs.columnar import read_events_with
from botify.logs.reader import LogReadReport, arm_index
from botify.logs.sessions import Sessions, sessionize
from botify.metric_plan import MetricPlan
from botify.progress import ProgressCallback

__all__ = ["RELATIVE_WORDING", "Analysis", "analyze_logs", "pre_period_metric"]

RELATIVE_WORDING = {
    "scaled": "intervals in %: Welch's interval of the difference over the control mean (the reference's definition; "
              "it treats the control mean as exact)",
    "delta": "intervals in %: delta method on treatment mean / control mean - 1 (counts the control mean's error "
             "too); quantile rows: their difference over the control's quantile",
}


@dataclass(frozen=True)
class Analysis:
    """Everything one analysis produced."""

    experiment: str
    control: str
    read: LogReadReport
    sessions: Sessions
    metrics: UserMetrics
    rows: list[Comparison]
    srm: SRMResult
    plan: MetricPlan
    verdicts: list[Verdict]
    first_track: npt.NDArray[np.int64] | None = None
    """With ``first_tracks=True``: each user row's first track in the experiment (by time), for segments."""
    relative: str = "scaled"
    """How the table's intervals in % were made (``botify.ab.stats.relative_effect``)."""
    memory: str | None = None
    """The memory bound the logs were read under (``None``: every line in memory); pre-period logs follow it."""

    def verdict_lines(self) -> list[str]:
        """One line per treatment: the decision and its reason."""
        return [v.describe() for v in self.verdicts]

    def markdown(self, title: str | None = None) -> str:
        """A Markdown report: the verdict, what was read, users per arm, the table."""
        arms = sorted(set(int(a) for a in self.metrics.arm))
        users = ", ".join(f"{'C' if a == 0 else f'T{a}'}: {int((self.metrics.arm == a).sum()):,}" for a in arms)
        return (
            f"# {title or 'A/B analysis of ' + self.experiment}\n\n"
            + "".join(f"**{line}**\n\n" for line in self.verdict_lines())
            + f"- experiment `{self.experiment}`, control `{self.control}`\n"
            f"- {self.read.describe()}\n"
            f"- sessions: {len(self.sessions):,} (unfinished, left out: {self.sessions.unfinished:,})\n"
            f"- users per arm: {users}\n"
            f"- primary metric `{self.plan.primary.name}`; guardrails: "
            f"{self.plan.describe_guardrails()}\n"
            f"- {self.srm.describe()}\n- {RELATIVE_WORDING[self.relative]}\n\n" + render_markdown(self.rows, self.plan)
        )


def analyze_logs(paths: Iterable[str | Path], experiment: str, *, control: str = "C", alpha: float = 0.05,
                 engine: str = "duckdb", cache_dir: str | Path | None = None,
                 metrics_plan: MetricPlan | None = None, first_tracks: bool = False,
                 relative: str = "scaled", memory: str | None = None,
                 progress: ProgressCallback | None = None) -> Analysis:
    """Read (``engine``: see ``read_events_with``), sessionize, compare every treatment with ``control`` and decide.

    ``metrics_plan`` (an experiment file's ``metrics`` block, ``ExperimentPlan.metrics``) names the primary metric and
    the guardrails; the defaults are ``MetricPlan.default()``. ``first_tracks`` keeps each user's first track (the
    one they were playing at their first request), which segments by genre need. ``relative``: how the intervals in
    % are made, ``scaled`` (the reference's) or ``delta`` (``botify.ab.stats.relative_effect``).

    ``memory`` (``"4GB"``, ``"512MB"``) bounds the analysis: the lines are sessionized through DuckDB, which spills
    to disk what does not fit (``botify.logs.bounded``), and only the sessions are kept; the same table as with
    every line in memory (``memory=None``). ``progress(stage, done, total)`` follows the bounded path's conversion
    of new log files and its sessionizing (``botify.progress``).
    """
    if relative not in RELATIVE_INTERVALS:
        raise ConfigError(f"`relative` must be one of {list(RELATIVE_INTERVALS)}, got {relative!r}")
    try:
        control_index = arm_index(control)
    except ValueError as error:
        raise ConfigError(f"`control` must be an arm label like 'C' or 'T1', got {control!r}") from error
    if memory is not None:
        if engine != "duckdb":
            raise ConfigError(f"a memory bound needs the duckdb engine, got engine {engine!r}")
        with BoundedLogs(paths, experiment, memory=memory, cache_dir=cache_dir, progress=progress) as bounded:
            if bounded.lines == 0:
                raise ConfigError(f"no log line carries experiment {experiment!r} ({bounded.report.describe()})")
            sessions = bounded.sessions(progress)
            return _analysis(experiment, control_index, bounded.report, sessions, bounded,
                             bounded.first_tracks if first_tracks else None, alpha=alpha, plan=metrics_plan,
                             relative=relative, memory=memory)
    events, read = read_events_with(engine, paths, experiment, cache_dir=cache_dir)
    if len(events.user) == 0:
        raise ConfigError(f"no log line carries experiment {experiment!r} ({read.describe()})")
    on_requests = events.arm >= 0
    latency = ArrayObservations(events.user[on_requests], events.arm[on_requests],
                                events.latency[on_requests] * 1000.0)
    first = (lambda users: _first_tracks(events.user, events.track, events.timestamp, users)) if first_tracks else None
    return _analysis(experiment, control_index, read, sessionize(events), latency, first, alpha=alpha,
                     plan=metrics_plan, relative=relative, memory=None)


def _analysis(experiment: str, control_index: int, read: LogReadReport, sessions: Sessions, latency: Observations,
              first_tracks: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]] | None, *, alpha: float,
              plan: MetricPlan | None, relative: str, memory: str | None) -> Analysis:
    """The table, the SRM check and the verdicts from the sessions and the request latencies."""
    control = arm_name(control_index)
    metrics = user_metrics(sessions.user, sessions.arm, sessions.time, sessions.tracks, sessions.latency_ms)
    if not (metrics.arm == control_index).any():
        raise ConfigError(f"no user of experiment {experiment!r} is in the control arm {control!r}")
    rows = compare_arms(metrics, control=control_index, metric_names=REPORT_METRICS, alpha=alpha, relative=relative)
    observations: dict[str, Observations] = {
        "session time": ArrayObservations(sessions.user, sessions.arm, sessions.time),
        "request latency (ms)": latency,
    }
    order = {name: i for i, name in enumerate((*REPORT_METRICS, *QUANTILE_METRICS))}
    rows = with_holm(sorted(rows + compare_quantiles(observations, control=control_index, alpha=alpha),
                            key=lambda row: (arm_index(row.treatment), order[row.metric])), alpha)
    users_per_arm = np.bincount(metrics.arm, minlength=max(int(metrics.arm.max()) + 1, 2))
    srm = sample_ratio_mismatch(users_per_arm)
    plan = plan or MetricPlan.default()
    first = first_tracks(metrics.user) if first_tracks is not None else None
    return Analysis(experiment, control, read, sessions, metrics, rows, srm, plan,
                    decide(rows, srm, plan, metrics, alpha=alpha), first, relative, memory)


def _first_tracks(user: npt.NDArray[np.int64], track: npt.NDArray[np.int64], timestamp: npt.NDArray[np.int64],
                  users: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each of ``users``' track on their earliest line (reading order breaks ties), -1 for a user with no line."""
    order = np.lexsort((timestamp, user))
    starts = order[np.r_[True, user[order][1:] != user[order][:-1]]]
    lookup = dict(zip(user[starts].tolist(), track[starts].tolist(), strict=True))
    return np.array([lookup.get(u, -1) for u in users.tolist()], dtype=np.int64)


def pre_period_metric(paths: Iterable[str | Path], users: npt.NDArray[np.int64], metric: str, *,
                      engine: str = "duckdb", memory: str | None = None) -> npt.NDArray[np.float64]:
    """A user-level metric from earlier logs (every line, any experiment), aligned to ``users`` (NaN if absent).

    ``memory``: as for ``analyze_logs``.
    """
    if memory is not None:
        with BoundedLogs(paths, memory=memory) as bounded:
            sessions = bounded.sessions()
    else:
        events, _ = read_events_with(engine, paths)
        sessions = sessionize(events)
    pre = user_metrics(sessions.user, np.zeros(len(sessions), np.int64), sessions.time, sessions.tracks,
                       sessions.latency_ms)
    lookup = dict(zip(pre.user.tolist(), pre.metric(metric).tolist(), strict=True))
    return np.array([lookup.get(u, np.nan) for u in users.tolist()], dtype=np.float64)
