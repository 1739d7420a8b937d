"""The treatment × metric table of the reference seminar, and its renderings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from rich.table import Table

from botify.ab.metrics import REPORT_METRICS
from botify.ab.multiple import holm
from botify.ab.stats import relative_effect, welch_ttest
from botify.experiments import arm_name
from botify.metric_plan import MetricPlan

__all__ = ["HEADER", "Comparison", "compare_arms", "markdown_table", "render_markdown", "render_rich", "row_tone",
           "table_cells", "with_holm"]


@dataclass(frozen=True)
class Comparison:
    """One treatment against control on one metric; effects in % of the control mean."""

    treatment: str
    control: str
    metric: str
    control_mean: float
    treatment_mean: float
    effect: float
    lower: float
    upper: float
    pvalue: float
    significant: bool
    control_users: int
    treatment_users: int
    pvalue_holm: float = float("nan")
    significant_holm: bool = False


class PerUserMetrics(Protocol):
    """Per-user rows with an arm each and metric columns by name (``UserMetrics`` and the long-term columns)."""

    @property
    def arm(self) -> npt.NDArray[np.int64]:
        """Each row's arm."""
        ...

    def metric(self, name: str) -> npt.NDArray[np.float64]:
        """A metric column by name."""
        ...


def compare_arms(
    metrics: PerUserMetrics, *, control: int = 0, metric_names: tuple[str, ...] = REPORT_METRICS, alpha: float = 0.05,
    relative: str = "scaled",
) -> list[Comparison]:
    """Welch test of every treatment arm against ``control`` for each metric.

    ``relative``: how the interval in % is made (``botify.ab.stats.relative_effect``): ``scaled`` (the reference's
    definition, the default) or ``delta`` (also counts the control mean's error). Significance is Welch's either way.
    """
    rows: list[Comparison] = []
    arms = sorted(set(int(a) for a in metrics.arm))
    in_control = metrics.arm == control
    for arm in arms:
        if arm == control:
            continue
        in_treatment = metrics.arm == arm
        for name in metric_names:
            values = metrics.metric(name)
            result = welch_ttest(values[in_treatment], values[in_control], alpha=alpha)
            base = float(values[in_control].mean()) if in_control.any() else float("nan")
            scale = 100 / base if base else float("nan")
            lower, upper = result.ci_low * scale, result.ci_high * scale
            if relative != "scaled":
                ratio = relative_effect(values[in_treatment], values[in_control], alpha=alpha, interval=relative,
                                        welch=result)
                lower, upper = ratio.lower, ratio.upper
            rows.append(
                Comparison(
                    treatment=arm_name(arm),
                    control=arm_name(control),
                    metric=name,
                    control_mean=base,
                    treatment_mean=float(values[in_treatment].mean()),
                    effect=result.estimate * scale,
                    lower=lower,
                    upper=upper,
                    pvalue=result.pvalue,
                    significant=bool(result.ci_low > 0 or result.ci_high < 0),
                    control_users=int(in_control.sum()),
                    treatment_users=int(in_treatment.sum()),
                )
            )
    return with_holm(rows, alpha)


def with_holm(rows: list[Comparison], alpha: float = 0.05) -> list[Comparison]:
    """The rows with Holm-adjusted p-values over all of them (the table's family)."""
    adjusted = holm([row.pvalue for row in rows])
    return [replace(row, pvalue_holm=float(p), significant_holm=bool(p < alpha)) for row, p in zip(rows, adjusted,
                                                                                                  strict=True)]


HEADER = ("treatment", "metric", "effect %", "lower %", "upper %", "control", "treatment mean", "significant",
           "Holm p", "significant (Holm)", "reading")
_COLOURS = {"good": "green", "bad": "red", "neutral": "grey50"}

Tone = Literal["good", "bad", "neutral"]


def row_tone(row: Comparison, plan: MetricPlan) -> Tone:
    """Good, bad or neutral, following the metric's direction: a significant rise in latency is bad."""
    if not row.significant or not math.isfinite(row.effect):
        return "neutral"
    return "good" if (row.effect > 0) == (plan.direction(row.metric) == "higher") else "bad"


def render_rich(rows: list[Comparison], title: str = "A/B", plan: MetricPlan | None = None) -> Table:
    """A rich table: green where the treatment is significantly better, red where worse, grey otherwise."""
    plan = plan or MetricPlan.default()
    table = Table(title=title)
    for column in HEADER[:-1]:  # the colour says what `reading` says in Markdown
        table.add_column(column, justify="left" if column in ("treatment", "metric") else "right",
                         no_wrap=column == "metric")
    for row in rows:
        colour = _COLOURS[row_tone(row, plan)]
        cells = table_cells(row, plan)[:-1]
        table.add_row(*cells[:2], *(f"[{colour}]{c}[/]" for c in cells[2:]))
    return table


def render_markdown(rows: list[Comparison], plan: MetricPlan | None = None) -> str:
    """A Markdown table with the same columns; ``reading``: better / worse / n.s., by the metric's direction."""
    plan = plan or MetricPlan.default()
    return markdown_table(HEADER, [table_cells(row, plan) for row in rows])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (ending with a newline) of already formatted cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def table_cells(row: Comparison, plan: MetricPlan) -> list[str]:
    """One row's cells, as ``HEADER`` names them."""
    tone = row_tone(row, plan)
    return [
        row.treatment,
        row.metric,
        f"{row.effect:+.2f}",
        f"{row.lower:+.2f}",
        f"{row.upper:+.2f}",
        f"{row.control_mean:.4g}",
        f"{row.treatment_mean:.4g}",
        "yes" if row.significant else "no",
        f"{row.pvalue_holm:.3g}",
        "yes" if row.significant_holm else "no",
        {"good": "better", "bad": "worse", "neutral": "n.s."}[tone],
    ]
