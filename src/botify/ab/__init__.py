"""A/B analysis: read logs, sessionize, user metrics, Welch statistics, the treatment × metric table, a verdict.

The DataFrame view for notebooks is ``from botify.ab.frames import analyze`` (it loads pandas, which reading and
comparing arms never need). ``botify.ab.analyze`` is the module of ``analyze_logs``.
"""

from botify.ab.analyze import Analysis, analyze_logs
from botify.ab.metrics import REPORT_METRICS, UserMetrics, user_metrics
from botify.ab.multiple import SRMResult, holm, sample_ratio_mismatch
from botify.ab.stats import TTestResult, welch_ttest
from botify.ab.table import Comparison, compare_arms, render_markdown, render_rich
from botify.ab.verdict import Verdict, decide
from botify.logs.reader import EventColumns, LogReadReport, read_events
from botify.logs.sessions import Sessions, sessionize

__all__ = [
    "Analysis",
    "Comparison",
    "EventColumns",
    "LogReadReport",
    "REPORT_METRICS",
    "SRMResult",
    "Sessions",
    "TTestResult",
    "UserMetrics",
    "Verdict",
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
