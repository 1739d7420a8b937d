"""A/B analysis: read logs, sessionize, user metrics, Welch statistics, the treatment × metric table, a verdict."""

from typing import TYPE_CHECKING

from botify.ab.analyze import Analysis, analyze_logs
from botify.ab.logs import EventColumns, LogReadReport, read_events
from botify.ab.metrics import REPORT_METRICS, UserMetrics, user_metrics
from botify.ab.multiple import SRMResult, holm, sample_ratio_mismatch
from botify.ab.sessions import Sessions, sessionize
from botify.ab.stats import TTestResult, welch_ttest
from botify.ab.table import Comparison, compare_arms, render_markdown, render_rich
from botify.ab.verdict import Verdict, decide

if TYPE_CHECKING:
    from botify.ab.frames import AnalysisFrames, analyze
else:
    del analyze  # the submodule ``botify.ab.analyze``: the name is the function, as it always was (see below)


def __getattr__(name: str) -> object:
    """``analyze`` and ``AnalysisFrames`` load pandas, which reading and comparing arms never need, on first use."""
    if name in ("AnalysisFrames", "analyze"):
        from botify.ab import frames

        return getattr(frames, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Analysis",
    "AnalysisFrames",
    "Comparison",
    "EventColumns",
    "LogReadReport",
    "REPORT_METRICS",
    "SRMResult",
    "Sessions",
    "TTestResult",
    "UserMetrics",
    "Verdict",
    "analyze",
    "analyze_logs",
    "compare_arms",
    "decide",
    "holm",
    "read_events",
    "render_markdown",
    "render_rich",
    "sample_ratio_mismatch",
    "sessionize",
    "user_metrics",
    "welch_ttest",
]
