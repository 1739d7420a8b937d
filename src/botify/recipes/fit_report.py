"""The fit study's report: terminal tables, ``report.md`` and ``report.html`` (Plotly, opens offline)."""

from __future__ import annotations

import math
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots
from rich.console import Console
from rich.table import Table

from botify.ab.table import markdown_table
from botify.recipes.fit_study import FitStudyResult

__all__ = ["headline", "write_fit_report"]


def _cell(value: float, digits: int = 3, signed: bool = True) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def headline(result: FitStudyResult) -> str:
    """One sentence: the fitted world's ranking, effect error and coverage, beside the best OPE estimator."""
    rows = result.estimator_rows()
    fit = rows[0]
    ope = max((r for r in rows[1:] if not r[0].startswith(("recall", "NDCG"))), key=lambda r: r[1])
    n = len(result.treatments())
    return (f"The fitted world ranks the {len(result.arms)} arms with Spearman {fit[1]:+.3f} (Kendall {fit[2]:+.3f}) "
            f"against the truth; median |effect error| {fit[3]:.1f} percentage points; its 95 % interval covers "
            f"the true effect for {result.covered()}/{n} treatments. Best OPE estimator: {ope[0]}, Spearman "
            f"{ope[1]:+.3f}")


def _arm_lines(result: FitStudyResult) -> list[list[str]]:
    lines = []
    for arm in result.arms:
        truth, predicted = arm.truth, arm.predicted
        def effect(row: object) -> str:
            if row is None:
                return "control"
            return f"{row.effect:+.1f} % [{row.lower:+.1f}, {row.upper:+.1f}]"  # type: ignore[attr-defined]
        error = "–" if truth is None or predicted is None else f"{predicted.effect - truth.effect:+.1f}"
        covered = "–" if truth is None or predicted is None else \
            ("yes" if predicted.lower <= truth.effect <= predicted.upper else "no")
        lines.append([arm.label, f"{arm.truth_mean:.3f}", f"{arm.predicted_mean:.3f}", effect(truth),
                      effect(predicted), error, covered, f"{arm.estimate('SNIPS'):.4f}",
                      f"{arm.estimate('session PDIS'):.3f}"])
    return lines


_ARM_HEADER = ("arm", "T: time/session", "F: time/session", "T: effect", "F: effect", "error (pp)",
               "F covers T", "SNIPS", "session PDIS")
_ESTIMATOR_HEADER = ("predictor", "Spearman", "Kendall", "median |effect error| (pp)")



def write_fit_report(result: FitStudyResult, out: Path, console: Console) -> None:
    """Print the tables and write ``out/report.md`` and ``out/report.html``."""
    arms = Table(title="per arm: the truth (T) and the fitted world's prediction (F), effects on "
                       "mean_time_per_session vs the control")
    for column in _ARM_HEADER:
        arms.add_column(column, justify="right")
    arm_rows = _arm_lines(result)
    for row in arm_rows:
        arms.add_row(*row)
    console.print(arms)
    estimator_rows = [[name, _cell(rho), _cell(tau), _cell(error, 1, signed=False)]
                      for name, rho, tau, error in result.estimator_rows()]
    brief = Table(title="how well each predictor from the same logs ranks the arms")
    for column in _ESTIMATOR_HEADER:
        brief.add_column(column, justify="right")
    for row in estimator_rows:
        brief.add_row(*row)
    console.print(brief)
    r = result.recovery
    recovery = [
        f"consume bias b: Pearson {r.bias_correlation:+.3f} (fitted vs true, users in the logs)",
        f"consume sharpness log s: Pearson {r.sharpness_correlation:+.3f}",
        f"each user's 100 best tracks: {r.neighbour_overlap:.1%} shared between T and F "
        f"(a random set: {r.chance_overlap:.2%})",
        f"session budget: fitted {r.fitted_budget}, true {r.true_budget:g}; artist discount γ: fitted "
        f"{r.fitted_gamma:.3f}, true {r.true_gamma:.3f}",
    ]
    diagnostics = result.fitted.diagnostics.lines()
    timing = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in result.seconds.items())
    for line in ["[bold]fit diagnostics[/]", *diagnostics, "[bold]parameter recovery[/]", *recovery,
                 f"time: {timing}"]:
        console.print(line)
    text = headline(result)
    console.print(f"[bold]{text}[/]")
    out.mkdir(parents=True, exist_ok=True)
    log = result.log_summary
    markdown = [
        "# Does a world fitted to logs predict the A/B results?", "", f"**{text}.**", "",
        f"Hidden world T: `{result.world}`" + (" (with the return model: T's A/B runs over days)" if result.returns
                                               else "") + f". Logged: {log['sessions']:,} sessions, "
        f"{log['recommendations']:,} recommendations, {log['users_logged']:,} users, {log['tracks_logged']:,} tracks.",
        "", "## Per arm", "", markdown_table(_ARM_HEADER, arm_rows).rstrip("\n"), "",
        "## Predictors from the same logs", "",
        "Spearman and Kendall against the true arms' mean session time; effect errors only for predictors of "
        "session time (the per-decision estimators predict the listened fraction per recommendation).", "",
        markdown_table(_ESTIMATOR_HEADER, estimator_rows).rstrip("\n"), "",
        "## The fit", "", *[f"- {line}" for line in diagnostics], "", "## Parameter recovery", "",
        *[f"- {line}" for line in recovery], "", f"Time: {timing}.", ""]
    (out / "report.md").write_text("\n".join(markdown))
    (out / "report.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Fitted world vs truth</title></head><body>"
        f"<h1>Does a world fitted to logs predict the A/B results?</h1><p><strong>{text}.</strong></p>"
        + _effects_figure(result).to_html(full_html=False, include_plotlyjs=True)
        + _recovery_figure(result).to_html(full_html=False, include_plotlyjs=False)
        + "</body></html>\n")
    console.print(f"report: {out / 'report.md'} and {out / 'report.html'}")


def _effects_figure(result: FitStudyResult) -> go.Figure:
    treatments = [a for a in result.treatments() if a.predicted is not None and a.truth is not None]
    x = [a.truth.effect for a in treatments if a.truth]
    y = [a.predicted.effect for a in treatments if a.predicted]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=x, y=y, mode="markers+text", text=[a.label for a in treatments], textposition="top center",
        name="fitted world F", error_y={"type": "data", "symmetric": False,
                             "array": [a.predicted.upper - a.predicted.effect for a in treatments if a.predicted],
                             "arrayminus": [a.predicted.effect - a.predicted.lower for a in treatments if a.predicted]},
        error_x={"type": "data", "symmetric": False,
                 "array": [a.truth.upper - a.truth.effect for a in treatments if a.truth],
                 "arrayminus": [a.truth.effect - a.truth.lower for a in treatments if a.truth]}))
    control = result.arms[0].estimate("session PDIS")
    if control > 0:  # the best session-level OPE estimate, as an effect, for comparison
        pdis = [100 * (a.estimate("session PDIS") / control - 1) for a in treatments]
        figure.add_trace(go.Scatter(x=x, y=pdis, mode="markers", name="session PDIS from the same logs",
                                    marker={"symbol": "x", "size": 9, "color": "#d62728"},
                                    text=[a.label for a in treatments]))
        y = y + pdis
    low, high = min(x + y), max(x + y)
    figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="prediction = truth",
                                line={"dash": "dot", "color": "#888"}))
    figure.update_layout(template="plotly_white", height=560,
                         title="effect on mean_time_per_session vs the control: fitted world (F) against truth (T)",
                         xaxis_title="true effect in T, % (95 % interval)",
                         yaxis_title="predicted effect in F, % (95 % interval)")
    return figure


def _recovery_figure(result: FitStudyResult) -> go.Figure:
    pairs = result.recovery.pairs
    figure = make_subplots(rows=1, cols=len(pairs), subplot_titles=[f"{name}: fitted vs true" for name in pairs])
    for column, (name, (true, fitted)) in enumerate(pairs.items(), start=1):
        figure.add_trace(go.Scatter(x=true, y=fitted, mode="markers", name=name, marker={"size": 4, "opacity": 0.5}),
                         row=1, col=column)
        figure.update_xaxes(title_text=f"true {name}", row=1, col=column)
        figure.update_yaxes(title_text=f"fitted {name}", row=1, col=column)
    figure.update_layout(template="plotly_white", height=460, title="parameter recovery (sampled users in the logs)")
    return figure
