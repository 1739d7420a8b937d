"""A self-contained HTML report: table, forest plots, session-time distributions, the day per arm, SRM, metadata.

Everything is inline (SVG and CSS), so the file opens offline.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.ab.analyze import Analysis
from botify.ab.table import Comparison
from botify.experiments import arm_name

__all__ = ["render_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}
.up{color:#0a7a2f;font-weight:600}.down{color:#b3261e;font-weight:600}.warn{color:#b3261e;font-weight:700}
svg{background:#fafafa;border:1px solid #eee;margin:0.5em 1em 0.5em 0}
"""


def _forest(rows: list[Comparison], metric: str) -> str:
    chosen = [r for r in rows if r.metric == metric and np.isfinite(r.lower) and np.isfinite(r.upper)]
    if not chosen:
        return ""
    low = min(0.0, *(r.lower for r in chosen))
    high = max(0.0, *(r.upper for r in chosen))
    span = (high - low) or 1.0
    width, left, row_h = 460, 60, 26
    height = row_h * len(chosen) + 40

    def x(value: float) -> float:
        return left + (value - low) / span * (width - left - 20)

    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="forest plot of {metric}">',
             f'<text x="{left}" y="16" font-size="13">{html.escape(metric)}: effect % with 95 % interval</text>',
             f'<line x1="{x(0):.1f}" y1="24" x2="{x(0):.1f}" y2="{height - 10}" stroke="#888" stroke-dasharray="4"/>']
    for i, row in enumerate(chosen):
        y = 40 + i * row_h
        colour = "#0a7a2f" if row.significant and row.effect > 0 else "#b3261e" if row.significant else "#555"
        parts += [f'<text x="8" y="{y + 4}" font-size="12">{row.treatment}</text>',
                  f'<line x1="{x(row.lower):.1f}" y1="{y}" x2="{x(row.upper):.1f}" y2="{y}" stroke="{colour}" '
                  'stroke-width="2"/>',
                  f'<circle cx="{x(row.effect):.1f}" cy="{y}" r="4" fill="{colour}"/>',
                  f'<text x="{x(row.upper) + 4:.1f}" y="{y + 4}" font-size="11">{row.effect:+.1f}%</text>']
    return "".join(parts) + "</svg>"


def _histograms(analysis: Analysis) -> str:
    s = analysis.sessions
    if len(s) == 0:
        return ""
    edges = np.linspace(0, float(np.quantile(s.time, 0.99)) or 1.0, 21)
    parts = []
    for arm in sorted(set(int(a) for a in s.arm)):
        counts, _ = np.histogram(np.minimum(s.time[s.arm == arm], edges[-1]), bins=edges)
        share = counts / max(counts.sum(), 1)
        bars = "".join(f'<rect x="{10 + i * 14}" y="{110 - 100 * v / max(share.max(), 1e-9):.1f}" width="12" '
                       f'height="{100 * v / max(share.max(), 1e-9):.1f}" fill="#4a6fa5"/>' for i, v in enumerate(share))
        parts.append(f'<svg width="300" height="140" role="img" aria-label="session time of arm {arm_name(arm)}">'
                     f'<text x="10" y="130" font-size="12">{arm_name(arm)}: session time 0–{edges[-1]:.1f}'
                     f'</text>{bars}</svg>')
    return "".join(parts)


_PALETTE = ("#555555", "#0a7a2f", "#4a6fa5", "#b3261e", "#c77c02", "#7b3fa0", "#1b8a8a", "#a0522d")


def _over_the_day(analysis: Analysis, points: int = 200) -> str:
    """Running mean session time per arm against the time of day its sessions ended (the day's drift, if any)."""
    s = analysis.sessions
    if len(s) < 2:
        return ""
    start, stop = int(s.end.min()), int(s.end.max())
    span = max(stop - start, 1)
    order = np.argsort(s.end, kind="stable")
    lines, low, high = [], np.inf, -np.inf
    for arm in sorted(set(int(a) for a in s.arm)):
        chosen = order[s.arm[order] == arm]
        running = np.cumsum(s.time[chosen]) / np.arange(1, len(chosen) + 1)
        keep = np.unique(np.linspace(min(len(chosen) - 1, 9), len(chosen) - 1, points).astype(np.int64))
        keep = keep[keep >= 0]
        lines.append((arm, (s.end[chosen][keep] - start) / span, running[keep]))
        if len(keep):
            low, high = min(low, float(running[keep].min())), max(high, float(running[keep].max()))
    if not np.isfinite(low):
        return ""
    width, height, left, top, bottom = 620, 260, 50, 24, 30
    scale = (high - low) or 1.0

    def y(value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return top + (high - value) / scale * (height - top - bottom)

    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="session time accumulated over the day">',
             f'<text x="{left}" y="16" font-size="13">running mean session time per arm over the day '
             f'({span / 60000:.1f} min)</text>',
             f'<text x="4" y="{top + 10}" font-size="11">{high:.3g}</text>',
             f'<text x="4" y="{height - bottom}" font-size="11">{low:.3g}</text>']
    for i, (arm, x, values) in enumerate(lines):
        colour = _PALETTE[i % len(_PALETTE)]
        xs = left + x * (width - left - 80)
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, y(values), strict=True))
        parts += [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>',
                  f'<text x="{width - 70}" y="{top + 14 * (i + 1)}" font-size="12" fill="{colour}">'
                  f'{arm_name(arm)} {values[-1]:.3g}</text>']
    return "".join(parts) + "</svg>"


def render_html(analysis: Analysis, title: str, metadata: dict[str, Any] | None = None) -> str:
    """The whole report as one HTML string."""
    header = ("treatment", "metric", "effect %", "lower %", "upper %", "control", "treatment mean", "significant",
              "Holm p", "significant (Holm)")
    body = []
    for r in analysis.rows:
        css = "up" if r.significant and r.effect > 0 else "down" if r.significant else ""
        cells = [r.treatment, r.metric, f"{r.effect:+.2f}", f"{r.lower:+.2f}", f"{r.upper:+.2f}",
                 f"{r.control_mean:.4g}", f"{r.treatment_mean:.4g}", "yes" if r.significant else "no",
                 f"{r.pvalue_holm:.3g}", "yes" if r.significant_holm else "no"]
        body.append("<tr>" + "".join(f'<td class="{css}">{html.escape(c)}</td>' if i > 1 else
                                     f"<td>{html.escape(c)}</td>" for i, c in enumerate(cells)) + "</tr>")
    metrics = sorted({r.metric for r in analysis.rows})
    srm_class = "warn" if analysis.srm.mismatch else ""
    meta = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in (metadata or {}).items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class='{srm_class}'>{html.escape(analysis.srm.describe())}</p>"
            f"<p>{html.escape(analysis.read.describe())}</p>"
            f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in header)}</tr></thead><tbody>{''.join(body)}"
            f"</tbody></table><h2>Effects</h2>{''.join(_forest(analysis.rows, m) for m in metrics)}"
            f"<h2>Session time per arm</h2>{_histograms(analysis)}"
            f"<h2>Over the day</h2>{_over_the_day(analysis)}<h2>Run</h2><ul>{meta}</ul></body></html>\n")
