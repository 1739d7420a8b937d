"""A/B analysis: user metrics, Welch statistics and the treatment × metric table."""

from botify.ab.metrics import REPORT_METRICS, UserMetrics, user_metrics
from botify.ab.stats import TTestResult, welch_ttest
from botify.ab.table import Comparison, compare_arms, render_markdown, render_rich

__all__ = [
    "Comparison",
    "REPORT_METRICS",
    "TTestResult",
    "UserMetrics",
    "compare_arms",
    "render_markdown",
    "render_rich",
    "user_metrics",
    "welch_ttest",
]
