"""The tail every recipe shares: the table on the terminal, ``report.md`` and ``report.html`` in the run's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from botify.ab.analyze import Analysis
from botify.ab.html import render_html
from botify.ab.table import render_rich
from botify.experiments import ExperimentPlan

__all__ = ["arms_label", "write_reports"]


def arms_label(plan: ExperimentPlan) -> str:
    """``C=indexed(dssm), T1=my_module:Mine``: each arm's label, recommender and artifact."""
    return ", ".join(f"{a.label}={a.recommender}" + (f"({a.params['artifact']})" if "artifact" in a.params else "")
                     for a in plan.routing.arms)


def write_reports(out: Path, analysis: Analysis, plan: ExperimentPlan, *, title: str, footer: str,
                  context: dict[str, Any], console: Console) -> Path:
    """Print the table and the log checks, write ``out/report.md`` and ``out/report.html``; return the former."""
    heading = f"{title}: {arms_label(plan)}"
    for line in analysis.verdict_lines():
        console.print(f"[bold]{line}[/]")
    console.print(render_rich(analysis.rows, title=f"{plan.routing.name}: {arms_label(plan)}", plan=analysis.plan))
    console.print(analysis.read.describe())
    console.print(analysis.srm.describe())
    report = out / "report.md"
    report.write_text(analysis.markdown(heading) + f"\n{footer}\n")
    (out / "report.html").write_text(render_html(analysis, heading, {
        **context, "arms": "; ".join(f"{a.label}={a.recommender} {a.params}" for a in plan.routing.arms)}))
    return report
