r"""The effect by segment: per segment a Welch comparison, its SRM check and its minimum detectable effect.

Users are cut by what was known before the treatment acted (``botify.segment_plan``): the catalog genre of their
first track in the experiment, their activity in a pre-period, new or returning. Within each segment every
treatment is compared with the control on one per-user metric. Because many segments are read at once, their
p-values are adjusted together (Holm or Benjamini-Hochberg, as the plan says); a segment whose users split
unevenly between arms fails its own SRM check; and a segment whose minimum detectable effect (80 % power) is
larger than the plan's ``min_effect`` is flagged as too small to say anything about that effect.

Whether the effect *differs* between segments is Cochran's Q test on the absolute differences of each dimension:
:math:`Q = \sum_s w_s (d_s - \bar d)^2` with :math:`w_s = 1/SE_s^2` and :math:`\bar d = \sum w_s d_s / \sum w_s`,
:math:`\chi^2` with (segments - 1) degrees of freedom under a uniform effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from botify.ab.metrics import UserMetrics
from botify.ab.multiple import SRM_ALPHA, benjamini_hochberg, holm, sample_ratio_mismatch
from botify.ab.power import minimum_detectable_effect
from botify.ab.stats import welch_ttest
from botify.errors import ConfigError
from botify.experiments import arm_name
from botify.segment_plan import SegmentPlan, SegmentSpec

__all__ = ["Heterogeneity", "SegmentReport", "SegmentRow", "analyze_segments", "segment_labels"]

FloatArray = npt.NDArray[np.float64]


def segment_labels(spec: SegmentSpec, *, first_genre: npt.NDArray[np.str_] | None = None,
                   pre_sessions: FloatArray | None = None) -> npt.NDArray[np.str_]:
    """Each user's segment under ``spec``.

    ``first_genre``: the genre name of each user's first track; ``pre_sessions``: each user's sessions in the
    pre-period logs (NaN or 0 when none).
    """
    if spec.by == "first_genre":
        if first_genre is None:
            raise ConfigError("segments by first_genre need each user's first track and the catalog's genres")
        names, counts = np.unique(first_genre, return_counts=True)
        kept = set(names[np.argsort(-counts, kind="stable")][: spec.top].tolist())
        return np.where(np.isin(first_genre, list(kept)), first_genre, "other")
    if pre_sessions is None:
        raise ConfigError(f"segments by {spec.by} need pre-period logs (`--pre LOGS`)")
    sessions = np.nan_to_num(np.asarray(pre_sessions, dtype=np.float64), nan=0.0)
    if spec.by == "returning":
        return np.where(sessions > 0, "returning", "new")
    edges = (0, *spec.edges)
    bins = [f"{low}-{high - 1} sessions" if high - 1 > low else f"{low} sessions"
            for low, high in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}+ sessions"]
    return np.array(bins)[np.searchsorted(np.array(spec.edges), sessions, side="right")]


@dataclass(frozen=True)
class SegmentRow:
    """One treatment against the control within one segment; effects in % of the segment's control mean."""

    dimension: str
    segment: str
    treatment: str
    control_users: int
    treatment_users: int
    control_mean: float
    effect: float
    lower: float
    upper: float
    pvalue: float
    pvalue_adjusted: float
    significant: bool
    """After the plan's correction over every segment row."""
    srm_pvalue: float
    mde: float
    """Minimum detectable effect at 80 % power, % of the segment's control mean."""
    too_small: bool
    difference: float
    standard_error: float


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q over the segments of one dimension, for one treatment."""

    dimension: str
    treatment: str
    q: float
    df: int
    pvalue: float


@dataclass(frozen=True)
class SegmentReport:
    """Every segment row, the heterogeneity tests and the plan they followed."""

    metric: str
    plan: SegmentPlan
    rows: list[SegmentRow]
    heterogeneity: list[Heterogeneity]

    def warnings(self) -> list[str]:
        """Segments with a sample-ratio mismatch, and segments too small for the plan's minimum effect."""
        lines = []
        for row in self.rows:
            where = f"{row.dimension} = {row.segment}, {row.treatment}"
            if row.srm_pvalue < SRM_ALPHA:
                lines.append(f"{where}: sample-ratio mismatch (p = {row.srm_pvalue:.2g}); this segment's effect "
                             "cannot be trusted")
            if row.too_small:
                lines.append(f"{where}: too small — {row.control_users + row.treatment_users:,} users detect "
                             f"±{row.mde:.1f} % at best, more than the plan's {100 * self.plan.min_effect:g} %")
        return lines

    def markdown(self) -> str:
        """Per dimension: the table and the heterogeneity test; then the warnings."""
        name = {"holm": "Holm", "bh": "Benjamini-Hochberg"}[self.plan.correction]
        parts = [f"Effect of `{self.metric}` by segment, % of the segment's control mean; p-values adjusted by "
                 f"{name} over all {len(self.rows)} segment rows:\n"]
        for dimension in dict.fromkeys(row.dimension for row in self.rows):
            parts.append(f"\n**{dimension}**\n\n| segment | treatment | users C / T | effect % | lower % | upper % | "
                         f"p | {name} p | SRM p | MDE % |\n|---|---|---|---|---|---|---|---|---|---|")
            for r in (row for row in self.rows if row.dimension == dimension):
                flag = " ⚠" if r.too_small or r.srm_pvalue < SRM_ALPHA else ""
                parts.append(f"| {r.segment}{flag} | {r.treatment} | {r.control_users:,} / {r.treatment_users:,} | "
                             f"{r.effect:+.2f} | {r.lower:+.2f} | {r.upper:+.2f} | {r.pvalue:.3g} | "
                             f"{r.pvalue_adjusted:.3g} | {r.srm_pvalue:.3g} | {r.mde:.1f} |")
            for h in (h for h in self.heterogeneity if h.dimension == dimension):
                verdict = ("the effect differs between segments" if h.pvalue < 0.05
                           else "no evidence that the effect differs")
                parts.append(f"\n{h.treatment}: Cochran's Q = {h.q:.2f}, df = {h.df}, p = {h.pvalue:.3g} — {verdict}")
        warnings = self.warnings()
        if warnings:
            parts.append("\nWarnings:\n\n" + "\n".join(f"- {line}" for line in warnings))
        return "\n".join(parts) + "\n"


def analyze_segments(metrics: UserMetrics, labels: dict[str, npt.NDArray[np.str_]], plan: SegmentPlan, *,
                     metric: str = "mean_time_per_session", control: int = 0, alpha: float = 0.05) -> SegmentReport:
    """Compare every treatment with ``control`` within each segment of each dimension (``labels``: per user)."""
    values = metrics.metric(metric)
    arms = sorted(set(metrics.arm.tolist()))
    raw: list[dict[str, object]] = []
    for dimension, label in labels.items():
        if label.shape != values.shape:
            raise ConfigError(f"segment labels of {dimension!r} must have one entry per user row")
        for segment in sorted(set(label.tolist())):
            inside = label == segment
            for arm in arms:
                if arm == control:
                    continue
                t, c = inside & (metrics.arm == arm), inside & (metrics.arm == control)
                result = welch_ttest(values[t], values[c], alpha=alpha)
                base = float(values[c].mean()) if c.any() else float("nan")
                scale = 100 / base if base else float("nan")
                users = min(int(t.sum()), int(c.sum()))
                sd = float(values[c].std(ddof=1)) if c.sum() > 1 else float("nan")
                mde = (100 * minimum_detectable_effect(sd, base, users, alpha=alpha)
                       if users >= 2 and base and np.isfinite(sd) else float("inf"))
                se = float(np.sqrt(values[t].var(ddof=1) / t.sum() + values[c].var(ddof=1) / c.sum())) \
                    if users >= 2 else float("nan")
                raw.append({"dimension": dimension, "segment": segment, "treatment": arm_name(arm),
                            "control_users": int(c.sum()), "treatment_users": int(t.sum()), "control_mean": base,
                            "effect": result.estimate * scale, "lower": result.ci_low * scale,
                            "upper": result.ci_high * scale, "pvalue": result.pvalue,
                            "srm_pvalue": sample_ratio_mismatch([int(c.sum()), int(t.sum())]).pvalue,
                            "mde": mde, "too_small": mde > 100 * plan.min_effect,
                            "difference": result.estimate, "standard_error": se})
    correct = holm if plan.correction == "holm" else benjamini_hochberg
    adjusted = correct([float(r["pvalue"]) for r in raw])  # type: ignore[arg-type]
    rows = [SegmentRow(**r, pvalue_adjusted=float(p), significant=bool(p < alpha))  # type: ignore[arg-type]
            for r, p in zip(raw, adjusted, strict=True)]
    return SegmentReport(metric, plan, rows, _heterogeneity(rows))


def _heterogeneity(rows: list[SegmentRow]) -> list[Heterogeneity]:
    tests = []
    for dimension, treatment in dict.fromkeys((r.dimension, r.treatment) for r in rows):
        mine = [r for r in rows if (r.dimension, r.treatment) == (dimension, treatment)
                and np.isfinite(r.difference) and r.standard_error > 0]
        if len(mine) < 2:
            continue
        d = np.array([r.difference for r in mine])
        w = 1 / np.array([r.standard_error for r in mine]) ** 2
        q = float((w * (d - (w * d).sum() / w.sum()) ** 2).sum())
        tests.append(Heterogeneity(dimension, treatment, q, len(mine) - 1, float(special.chdtrc(len(mine) - 1, q))))
    return tests
