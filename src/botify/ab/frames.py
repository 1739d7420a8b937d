"""Notebook-friendly results: the analysis as pandas DataFrames.

``botify.ab.frames.analyze(logs, experiment)`` returns ``AnalysisFrames``: the ``verdicts`` (one row per treatment:
decision and reason), the treatment × metric ``table`` (with each row's ``reading``: good / bad / neutral by the
metric's direction), the per-user ``users`` metrics and the ``sessions``, plus the SRM check and what was read.
With ``sequential="gst"|"gavi"|"msprt"`` it also gives ``sequential``: every look of every treatment and metric
with its always-valid interval (``looks`` equal slices of the log time, or the days of a ``calendar``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from botify.ab.analyze import analyze_logs
from botify.ab.metrics import REPORT_METRICS
from botify.ab.multiple import SRMResult
from botify.ab.sections import sequential_result
from botify.ab.table import row_tone
from botify.experiments import arm_name, load_experiments
from botify.logs.reader import LogReadReport

__all__ = ["AnalysisFrames", "analyze"]


@dataclass(frozen=True)
class AnalysisFrames:
    """DataFrames of one analysis."""

    verdicts: pd.DataFrame
    table: pd.DataFrame
    users: pd.DataFrame
    sessions: pd.DataFrame
    srm: SRMResult
    read: LogReadReport
    sequential: pd.DataFrame | None = None


def analyze(logs: Iterable[str | Path] | str | Path, experiment: str, *, control: str = "C",
            alpha: float = 0.05, plan: str | Path | None = None, sequential: str | None = None,
            looks: int | None = None, calendar: str | Path | None = None, max_users: float | None = None,
            spending: str = "obf", tau: float | None = None, relative: str = "scaled") -> AnalysisFrames:
    """Run ``analyze_logs`` and return its results as DataFrames (one row per verdict, comparison, user, session).

    ``plan``: the experiment file whose ``metrics`` block (primary metric, guardrails) the verdict follows.
    ``sequential`` and the arguments after it: as ``botify ab analyze --sequential`` (docs/sequential.md).
    ``relative``: ``scaled`` or ``delta`` intervals in %, as ``--relative-interval``.
    """
    paths = [logs] if isinstance(logs, str | Path) else list(logs)
    metrics_plan = load_experiments(plan).metrics if plan is not None else None
    result = analyze_logs(paths, experiment, control=control, alpha=alpha, metrics_plan=metrics_plan,
                          relative=relative)
    m = result.metrics
    users = pd.DataFrame({"user": m.user, "arm": [arm_name(int(a)) for a in m.arm], "sessions": m.sessions,
                          "time": m.time, "tracks": m.tracks, "latency": m.latency})
    for name in REPORT_METRICS:
        users[name] = m.metric(name)
    s = result.sessions
    sessions = pd.DataFrame({"user": s.user, "arm": [arm_name(int(a)) for a in s.arm], "tracks": s.tracks,
                             "time": s.time, "latency_ms": s.latency_ms})
    table = pd.DataFrame([{**asdict(row), "reading": row_tone(row, result.plan)} for row in result.rows])
    verdicts = pd.DataFrame([asdict(v) for v in result.verdicts], columns=["treatment", "decision", "reason"])
    looked = None
    if sequential is not None:
        outcome, _ = sequential_result(result, method=sequential, looks=looks, calendar=calendar, alpha=alpha,
                                       max_users=max_users, spending=spending, tau=tau)
        looked = pd.DataFrame([asdict(row) for row in outcome.rows])
    return AnalysisFrames(verdicts, table, users, sessions, result.srm, result.read, looked)
