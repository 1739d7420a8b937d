"""A/B analysis: read logs, sessionize, user metrics, Welch statistics, the treatment × metric table, a verdict."""

from botify.ab.analyze import Analysis, analyze_logs
from botify.ab.frames import AnalysisFrames, analyze
from botify.ab.logs import EventColumns, LogReadReport, read_events
from botify.ab.metrics import REPORT_METRICS, UserMetrics, user_metrics
from botify.ab.multiple import SRMResult, holm, sample_ratio_mismatch
from botify.ab.sessions import Sessions, sessionize
from botify.ab.stats import TTestResult, welch_ttest
from botify.ab.table import Comparison, compare_arms, render_markdown, render_rich
from botify.ab.verdict import Verdict, decide

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
