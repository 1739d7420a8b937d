"""A decision per treatment: ship, don't ship or inconclusive, with the reason in one sentence.

Each row of the table is *good* (significant, in the metric's better direction), *bad* (significant, the other
way) or *neutral*. A guardrail is *breached* when even the favourable end of its 95 % interval is worse than its
tolerance, and *at risk* when only the unfavourable end is. Then, per treatment, in this order:

1. a sample-ratio mismatch → inconclusive: the split is broken, no effect can be trusted;
2. a breached guardrail, or a primary metric significantly worse → don't ship;
3. a primary metric significantly better with every guardrail within tolerance → ship;
4. otherwise inconclusive: the primary metric did not move significantly (with the smallest effect this sample
   could have detected), or a guardrail is at risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from botify.ab.metrics import REPORT_METRICS, UserMetrics
from botify.ab.multiple import SRMResult
from botify.ab.power import minimum_detectable_effect
from botify.ab.table import Comparison, row_tone
from botify.logs.reader import arm_index
from botify.metric_plan import MetricPlan, MetricSpec

__all__ = ["Verdict", "decide"]

Decision = Literal["ship", "don't ship", "inconclusive"]


@dataclass(frozen=True)
class Verdict:
    """The decision for one treatment against the control, and why."""

    treatment: str
    decision: Decision
    reason: str

    def describe(self) -> str:
        """``T1: ship — …``."""
        return f"{self.treatment}: {self.decision.upper()} — {self.reason}"


def _interval(row: Comparison) -> str:
    return f"{row.effect:+.2f} % [{row.lower:+.2f}, {row.upper:+.2f}]"


def _guardrail_state(row: Comparison, spec: MetricSpec) -> Literal["ok", "at risk", "breached"]:
    """Compare the interval's two ends, in the bad direction, with the tolerance."""
    assert spec.tolerance is not None
    scale = 1.0 if spec.relative else abs(row.control_mean) / 100  # % of control -> metric units
    worse_sign = 1.0 if spec.better == "lower" else -1.0
    favourable, unfavourable = sorted((row.lower * worse_sign * scale, row.upper * worse_sign * scale))
    if favourable > spec.tolerance:
        return "breached"
    return "at risk" if unfavourable > spec.tolerance else "ok"


def _mde(metrics: UserMetrics, metric: str, control: int, treatment: int, alpha: float) -> float | None:
    if metric not in REPORT_METRICS:  # a quantile: no per-user column to size it from
        return None
    values = metrics.metric(metric)
    base = values[metrics.arm == control]
    users = min(int((metrics.arm == control).sum()), int((metrics.arm == treatment).sum()))
    if users < 2 or not base.mean():
        return None
    return minimum_detectable_effect(float(base.std(ddof=1)), float(base.mean()), users, alpha=alpha) * 100


def decide(rows: list[Comparison], srm: SRMResult, plan: MetricPlan, metrics: UserMetrics, *,
           alpha: float = 0.05) -> list[Verdict]:
    """One verdict per treatment of ``rows``."""
    verdicts = []
    for treatment in dict.fromkeys(r.treatment for r in rows):
        mine = {r.metric: r for r in rows if r.treatment == treatment}
        primary = mine.get(plan.primary.name)
        if primary is None:
            continue
        name = plan.primary.name
        guardrails = [(spec, mine[spec.name], _guardrail_state(mine[spec.name], spec))
                      for spec in plan.guardrails if spec.name in mine]
        breached = [(s, r) for s, r, state in guardrails if state == "breached"]
        at_risk = [(s, r) for s, r, state in guardrails if state == "at risk"]
        tone = row_tone(primary, plan)
        if srm.mismatch:
            verdicts.append(Verdict(treatment, "inconclusive", f"sample ratio mismatch (p = {srm.pvalue:.2g}): "
                                    "users did not split as configured, so no effect can be trusted"))
        elif breached:
            spec, row = breached[0]
            verdicts.append(Verdict(treatment, "don't ship", f"{spec.name} {_interval(row)} breaches its guardrail "
                                    f"(at most {spec.describe_tolerance()}); {name} {_interval(primary)}"))
        elif tone == "bad":
            verdicts.append(Verdict(treatment, "don't ship", f"{name} is significantly worse: {_interval(primary)}"))
        elif tone == "good" and not at_risk:
            held = f"; guardrails held ({', '.join(s.name for s, _, _ in guardrails)})" if guardrails else ""
            verdicts.append(Verdict(treatment, "ship", f"{name} {_interval(primary)}{held}"))
        elif tone == "good":
            spec, row = at_risk[0]
            verdicts.append(Verdict(treatment, "inconclusive", f"{name} {_interval(primary)}, but {spec.name} "
                                    f"{_interval(row)} may be worse than its guardrail ({spec.describe_tolerance()})"
                                    "; more users would tell"))
        else:
            mde = _mde(metrics, name, arm_index(primary.control), arm_index(treatment), alpha)
            detect = f"; this sample detects effects of ±{mde:.2f} % or more" if mde is not None else ""
            verdicts.append(Verdict(treatment, "inconclusive",
                                    f"no significant change in {name}: {_interval(primary)}{detect}"))
    return verdicts
