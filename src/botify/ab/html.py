"""A self-contained HTML report that leads with the decision, its plots drawn by Plotly.

Order: the verdict per treatment, the SRM check and what was read, the table (green: significantly better in
the metric's direction, red: significantly worse, grey: not significant), a forest plot per metric, the session
time per arm, the primary metric's effect over the day with its 95 % band, the effect per calendar day when the
logs span several, and the run's metadata. Plotly's JavaScript is inlined once, so the file opens offline.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import plotly.graph_objects as go

from botify.ab.analyze import RELATIVE_WORDING, Analysis
from botify.ab.longterm import DailySessions, compare_long_term, daily_effects, retention_curve, retention_days
from botify.ab.looks import SequentialResult
from botify.ab.metrics import user_metrics
from botify.ab.table import HEADER, Comparison, compare_arms, row_tone, table_cells
from botify.experiments import arm_name
from botify.logs.reader import arm_index
from botify.metric_plan import UNITS, MetricPlan

__all__ = ["STYLE", "Figures", "html_table", "render_html"]

TONE_COLOURS = {"good": "#0a7a2f", "bad": "#b3261e", "neutral": "#7a7a7a"}
_ARM_COLOURS = ("#555555", "#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22")
_DECISION_CLASS = {"ship": "good", "don't ship": "bad", "inconclusive": "neutral"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,td:nth-child(2){text-align:left}
.good{color:#0a7a2f;font-weight:600}.bad{color:#b3261e;font-weight:600}.neutral{color:#7a7a7a}
.verdict{font-size:1.15em;padding:0.6em 0.9em;margin:0.4em 0;border-left:6px solid;background:#f7f7f7}
.verdict.good{border-color:#0a7a2f}.verdict.bad{border-color:#b3261e}.verdict.neutral{border-color:#7a7a7a}
.warn{color:#b3261e;font-weight:700}.plot{margin:0.5em 0 1.5em 0}
"""
_AXIS = {"automargin": True, "showline": True, "linecolor": "#444", "ticks": "outside", "zeroline": False}


class Figures:
    """Turns figures into HTML, inlining Plotly's JavaScript with the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, figure: go.Figure, name: str) -> str:
        """The figure as a ``div`` marked ``data-plot=name``, in the house style."""
        figure.update_layout(template="plotly_white", font={"size": 13}, margin={"l": 20, "r": 30, "t": 60, "b": 20})
        figure.update_xaxes(**_AXIS)
        figure.update_yaxes(**_AXIS)
        self.count += 1
        body = figure.to_html(full_html=False, include_plotlyjs=self.count == 1, div_id=f"plot-{name}",
                              config={"displaylogo": False, "responsive": True})
        return f'<div class="plot" data-plot="{html.escape(name)}">{body}</div>'


def _forest(figures: Figures, analysis: Analysis, metric: str) -> str:
    rows = [r for r in analysis.rows if r.metric == metric and np.isfinite(r.lower) and np.isfinite(r.upper)]
    if not rows:
        return ""
    figure = go.Figure()
    for r in rows:
        colour = TONE_COLOURS[row_tone(r, analysis.plan)]
        label = f"{r.treatment}: {r.effect:+.2f} % [{r.lower:+.2f}, {r.upper:+.2f}]"
        figure.add_trace(go.Scatter(
            x=[r.effect], y=[label], mode="markers", marker={"color": colour, "size": 11}, showlegend=False,
            error_x={"type": "data", "symmetric": False, "array": [r.upper - r.effect],
                     "arrayminus": [r.effect - r.lower], "color": colour, "thickness": 2.5, "width": 6},
            hovertemplate=f"{html.escape(label)}<extra></extra>"))
    figure.add_vline(x=0, line_dash="dash", line_color="#888")
    low, high = min(0.0, *(r.lower for r in rows)), max(0.0, *(r.upper for r in rows))
    pad = (high - low) * 0.08 or 1.0
    role = "primary" if metric == analysis.plan.primary.name else \
        "guardrail" if metric in {g.name for g in analysis.plan.guardrails} else "secondary"
    unit = f" {UNITS[metric]}" if metric in UNITS else ""
    figure.update_layout(title=f"{metric} — {role}, {analysis.plan.direction(metric)} is better",
                         height=150 + 45 * len(rows), yaxis_title="treatment",
                         xaxis_title=f"effect, % of the control mean (control: {rows[0].control_mean:.4g}{unit})")
    figure.update_xaxes(range=[low - pad, high + pad], ticksuffix=" %")
    return figures.html(figure, f"forest-{metric}")


def _distributions(figures: Figures, analysis: Analysis) -> str:
    s = analysis.sessions
    if len(s) == 0:
        return ""
    cap = float(np.quantile(s.time, 0.99)) or 1.0
    edges = np.linspace(0.0, cap, 31)
    figure = go.Figure()
    for index, arm in enumerate(sorted(set(int(a) for a in s.arm))):
        # Binned here, so the page carries 30 bars per arm, not every session.
        counts, _ = np.histogram(np.minimum(s.time[s.arm == arm], cap), bins=edges)
        figure.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts / max(counts.sum(), 1), width=cap / 30,
                                name=arm_name(arm), marker_color=_ARM_COLOURS[index % len(_ARM_COLOURS)],
                                opacity=0.55))
    figure.update_layout(barmode="overlay", height=380,
                         title="Session time per arm (the top 1 % pooled in the last bin)",
                         xaxis_title="session time (listened tracks: the first one plus every fraction listened)",
                         yaxis_title="share of the arm's sessions", legend_title_text="arm")
    return figures.html(figure, "distributions")


def _primary_effects(analysis: Analysis, chosen: np.ndarray[Any, Any]) -> dict[int, Comparison]:
    """The primary metric's comparison of each treatment with the control, on the sessions ``chosen``.

    The table's own computation (``compare_arms``) on a subset; treatments without a finite interval (fewer than
    two users in an arm) are left out.
    """
    s = analysis.sessions
    m = user_metrics(s.user[chosen], s.arm[chosen], s.time[chosen], s.tracks[chosen], s.latency_ms[chosen])
    rows = compare_arms(m, control=arm_index(analysis.control), metric_names=(analysis.plan.primary.name,))
    return {arm_index(r.treatment): r for r in rows if np.isfinite(r.lower) and np.isfinite(r.upper)}


def _treatments(analysis: Analysis) -> list[int]:
    return sorted(set(int(a) for a in analysis.sessions.arm) - {arm_index(analysis.control)})


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of already formatted cells (escaped here)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class _Interval(Protocol):
    """A row with an effect and its interval (a table row, a sequential look)."""

    @property
    def effect(self) -> float: ...

    @property
    def lower(self) -> float: ...

    @property
    def upper(self) -> float: ...


def _effect_band(figure: go.Figure, xs: Sequence[float], rows: Sequence[_Interval], colour: str, name: str) -> None:
    """One treatment's effect as a line, its interval as a shaded band behind it."""
    figure.add_trace(go.Scatter(x=[*xs, *xs[::-1]], y=[r.upper for r in rows] + [r.lower for r in rows][::-1],
                                fill="toself", fillcolor=colour, opacity=0.18, line={"width": 0},
                                hoverinfo="skip", showlegend=False))
    figure.add_trace(go.Scatter(x=list(xs), y=[r.effect for r in rows], mode="lines+markers", name=name,
                                line={"color": colour, "width": 2}))


def _over_the_day(figures: Figures, analysis: Analysis, checkpoints: int = 24) -> str:
    """The primary metric's effect, recomputed on the sessions ended so far, with its 95 % interval."""
    s = analysis.sessions
    if len(s) < 20:
        return ""
    order = np.argsort(s.end, kind="stable")
    start = int(s.end[order[0]])
    span_ms = int(s.end[order[-1]]) - start
    per_unit, unit = (1000, "seconds") if span_ms < 120_000 else (60_000, "minutes") if span_ms < 7_200_000 \
        else (3_600_000, "hours")
    arms = _treatments(analysis)
    series: dict[int, tuple[list[float], list[Comparison]]] = {arm: ([], []) for arm in arms}
    for cut in np.linspace(len(order) / checkpoints, len(order), checkpoints):
        chosen = order[: int(cut)]
        for arm, row in _primary_effects(analysis, chosen).items():
            series[arm][0].append((int(s.end[chosen[-1]]) - start) / per_unit)
            series[arm][1].append(row)
    figure = go.Figure()
    for index, arm in enumerate(arms):
        xs, rows = series[arm]
        _effect_band(figure, xs, rows, _ARM_COLOURS[(index + 1) % len(_ARM_COLOURS)],
                     f"{arm_name(arm)} vs {analysis.control}")
    figure.add_hline(y=0, line_dash="dash", line_color="#888")
    figure.update_layout(height=400, title=f"{analysis.plan.primary.name}: effect over the day, on the sessions "
                                           "ended so far (95 % band)",
                         xaxis_title=f"{unit} since the first session ended",
                         yaxis_title="effect, % of the control mean", legend_title_text="treatment")
    figure.update_yaxes(ticksuffix=" %")
    return figures.html(figure, "over-the-day")


def _per_day(figures: Figures, analysis: Analysis) -> str:
    s = analysis.sessions
    if len(s) == 0:
        return ""
    days = (s.end // 86_400_000).astype(np.int64)
    distinct = sorted(set(days.tolist()))
    if len(distinct) < 2:
        first = dt.datetime.fromtimestamp(int(s.end.min()) / 1000, dt.UTC).strftime("%Y-%m-%d")
        return (f"<p>All sessions ended on one calendar day ({first}, UTC); an experiment that spans several days "
                "gets the primary metric's effect per day here.</p>")
    arms = _treatments(analysis)
    series: dict[int, tuple[list[str], list[Comparison]]] = {arm: ([], []) for arm in arms}
    for day in distinct:
        label = dt.datetime.fromtimestamp(day * 86_400, dt.UTC).strftime("%Y-%m-%d")
        for arm, row in _primary_effects(analysis, np.flatnonzero(days == day)).items():
            series[arm][0].append(label)
            series[arm][1].append(row)
    figure = go.Figure()
    for index, arm in enumerate(arms):
        xs, rows = series[arm]
        figure.add_trace(go.Scatter(x=xs, y=[r.effect for r in rows], mode="markers",
                                    name=f"{arm_name(arm)} vs {analysis.control}",
                                    marker={"color": _ARM_COLOURS[(index + 1) % len(_ARM_COLOURS)], "size": 10},
                                    error_y={"type": "data", "symmetric": False,
                                             "array": [r.upper - r.effect for r in rows],
                                             "arrayminus": [r.effect - r.lower for r in rows]}))
    figure.add_hline(y=0, line_dash="dash", line_color="#888")
    figure.update_layout(height=380, title=f"{analysis.plan.primary.name}: effect per day (95 % interval)",
                         xaxis_title="day (UTC)", yaxis_title="effect, % of the control mean",
                         legend_title_text="treatment")
    figure.update_xaxes(type="category")
    return figures.html(figure, "per-day")


def _table(analysis: Analysis) -> str:
    body = [f'<tr class="{row_tone(r, analysis.plan)}" data-metric="{r.metric}">'
            + "".join(f"<td>{html.escape(c)}</td>" for c in table_cells(r, analysis.plan)) + "</tr>"
            for r in analysis.rows]
    return (f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in HEADER)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _verdicts(analysis: Analysis) -> str:
    return "".join(f'<p class="verdict {_DECISION_CLASS[v.decision]}"><strong>{html.escape(v.treatment)}: '
                   f"{html.escape(v.decision.upper())}</strong> — {html.escape(v.reason)}</p>"
                   for v in analysis.verdicts)


def _metric_order(analysis: Analysis) -> list[str]:
    declared = [analysis.plan.primary.name, *(g.name for g in analysis.plan.guardrails),
                *(s.name for s in analysis.plan.secondary)]
    present = {r.metric for r in analysis.rows}
    return [m for m in declared if m in present] + sorted(present - set(declared))


def _long_term(figures: Figures, daily: DailySessions, control: str) -> str:
    """Retention curves per arm, the daily effects of every treatment, and the horizon's table."""
    arms = sorted(set(daily.arm.tolist()))
    retention = go.Figure()
    for index, arm in enumerate(arms):
        retention.add_trace(go.Scatter(x=list(range(daily.days)), y=retention_curve(daily, arm).tolist(),
                                       mode="lines+markers", name=arm_name(arm),
                                       marker={"color": _ARM_COLOURS[index % len(_ARM_COLOURS)]}))
    retention.update_layout(height=380, title="retention: share of a cohort active k days after its first day",
                            xaxis_title="k (days after the cohort's first day)", yaxis_title="share active",
                            legend_title_text="arm")
    effects = daily_effects(daily, control=arm_index(control))
    daily_figure = go.Figure()
    for index, arm in enumerate(a for a in arms if arm_name(a) != control):
        rows = [(day, r) for day, day_rows in enumerate(effects) for r in day_rows if r.treatment == arm_name(arm)]
        daily_figure.add_trace(go.Scatter(
            x=[day for day, _ in rows], y=[r.effect for _, r in rows], mode="lines+markers",
            name=f"{arm_name(arm)} vs {control}", marker={"color": _ARM_COLOURS[(index + 1) % len(_ARM_COLOURS)]},
            error_y={"type": "data", "symmetric": False, "array": [r.upper - r.effect for _, r in rows],
                     "arrayminus": [r.effect - r.lower for _, r in rows]}))
    daily_figure.add_hline(y=0, line_dash="dash", line_color="#888")
    daily_figure.update_layout(height=380, title="mean_time_per_session: effect per simulated day (95 % interval)",
                               xaxis_title="day", yaxis_title="effect, % of the control mean",
                               legend_title_text="treatment")
    horizon = compare_long_term(daily, control=arm_index(control), retention_days=retention_days(daily.days))
    table = html_table(HEADER, [table_cells(r, MetricPlan.default()) for r in horizon])
    return (f"<p>{daily.days} simulated days (calendar from the run).</p>{table}"
            f"{figures.html(retention, 'retention')}{figures.html(daily_figure, 'daily-effects')}")


def _sequential(figures: Figures, result: SequentialResult, metric: str) -> str:
    """The primary metric's always-valid interval at each look, per treatment, with the look it stops at."""
    figure = go.Figure()
    for index, treatment in enumerate(dict.fromkeys(r.treatment for r in result.rows)):
        rows = [r for r in result.rows if r.treatment == treatment and r.metric == metric]
        if not rows:
            continue
        colour = _ARM_COLOURS[(index + 1) % len(_ARM_COLOURS)]
        _effect_band(figure, [r.look for r in rows], rows, colour, treatment)
        stop = result.stops.get((treatment, metric))
        if stop is not None:
            at = next(r for r in rows if r.look == stop)
            figure.add_trace(go.Scatter(x=[stop], y=[at.effect], mode="markers", name=f"{treatment} stops",
                                        marker={"symbol": "star", "size": 14, "color": colour}))
    figure.add_hline(y=0, line_dash="dash", line_color="#888")
    figure.update_layout(height=400, title=f"{metric}: always-valid {result.method} interval at each look "
                                           f"(α = {result.alpha})", xaxis_title="look",
                         yaxis_title="effect, % of the control mean at the look", legend_title_text="treatment")
    figure.update_yaxes(ticksuffix=" %")
    return figures.html(figure, "sequential")


def render_html(analysis: Analysis, title: str, metadata: dict[str, Any] | None = None,
                long_term: DailySessions | None = None, sequential: SequentialResult | None = None) -> str:
    """The whole report as one HTML string.

    ``long_term`` (sessions with their simulated day) adds the horizon, ``sequential`` the primary metric's looks.
    """
    figures = Figures()
    forests = "".join(_forest(figures, analysis, metric) for metric in _metric_order(analysis))
    srm_class = "warn" if analysis.srm.mismatch else ""
    meta = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in (metadata or {}).items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<section id='verdict'>{_verdicts(analysis)}</section>"
            f"<p>Primary metric: {html.escape(analysis.plan.primary.name)}; "
            f"guardrails: {html.escape(analysis.plan.describe_guardrails())}.</p>"
            f"<p class='{srm_class}'>{html.escape(analysis.srm.describe())}</p>"
            f"<p>{html.escape(analysis.read.describe())}</p>"
            f"<p>{html.escape(RELATIVE_WORDING[analysis.relative])}.</p>{_table(analysis)}"
            f"<h2>Effects</h2>{forests}<h2>Session time per arm</h2>{_distributions(figures, analysis)}"
            f"<h2>Over the day</h2>{_over_the_day(figures, analysis)}<h2>Per day</h2>{_per_day(figures, analysis)}"
            + (f"<h2>Over the horizon</h2>{_long_term(figures, long_term, analysis.control)}" if long_term else "")
            + (f"<h2>Sequential looks</h2>{_sequential(figures, sequential, analysis.plan.primary.name)}"
               if sequential else "") +
            f"<h2>Run</h2><ul>{meta}</ul></body></html>\n")

