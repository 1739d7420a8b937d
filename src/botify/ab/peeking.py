"""What looking every day does to an experiment: each method's decision on one run, and the rates over many runs.

Per run, the looks of one treatment against the control (``ArmLooks`` from ``botify.ab.looks``) are judged by:

- ``naive``: Welch's fixed-horizon test at every look, stopping at the first p < α (what a dashboard invites);
- ``gst``, ``gavi``, ``msprt``: the sequential methods of ``botify.ab.sequential``, stopping when the always-valid
  interval first excludes 0;
- ``fixed``: Welch's test once, at the last look (the reference: no peeking).

Over many runs with no true effect (A/A) the share of runs that stopped is each method's false-positive rate, with
a Wilson interval; over runs with an effect it is the power, beside the mean stopping day and how far the
estimate at the stop overshoots the true effect (stopping on a high makes early estimates too large).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from botify.ab.looks import ArmLooks, look_correlation
from botify.ab.sequential import sequential_looks
from botify.ab.stats import welch_df

__all__ = ["PEEKING_METHODS", "MethodSummary", "PeekOutcome", "peek", "summarize", "wilson_interval"]

PEEKING_METHODS = ("naive", "gst", "gavi", "msprt", "fixed")


@dataclass(frozen=True)
class PeekOutcome:
    """One method on one run: the look it stopped at (``None``: never) and the relative effect there (%)."""

    method: str
    stop: int | None
    estimate: float
    final: float


def _welch_pvalues(t: ArmLooks, c: ArmLooks) -> np.ndarray:
    vt, vc = t.variance / t.users, c.variance / c.users
    z = (t.mean - c.mean) / np.sqrt(vt + vc)
    pvalues: np.ndarray = 2 * special.stdtr(welch_df(vt, vc, t.users, c.users), -np.abs(z))
    return pvalues


def peek(t: ArmLooks, c: ArmLooks, *, alpha: float = 0.05, max_users: float | None = None,
         tau: float | None = None) -> list[PeekOutcome]:
    """Every method of ``PEEKING_METHODS`` on one run's looks (each arm with at least two users at every look).

    ``max_users``: GAVI's planned sample (default: the last look's users) and, if given, GST's planned maximum in
    users (by default GST's information fraction is statistical: the last look's variance over each look's).
    """
    relative = 100 * (t.mean - c.mean) / c.mean
    final = float(relative[-1])
    significant = _welch_pvalues(t, c) < alpha
    stops: dict[str, int | None] = {
        "naive": int(np.argmax(significant)) if significant.any() else None,
        "fixed": len(relative) - 1 if significant[-1] else None,
    }
    for method in ("gst", "gavi", "msprt"):
        looks = sequential_looks(method, t.users, t.mean, t.variance, c.users, c.mean, c.variance, alpha=alpha,
                                 max_users=max_users, tau=tau, correlation=look_correlation(t, c))
        stops[method] = next((look.look for look in looks if look.stopped), None)
    return [PeekOutcome(method, stops[method], float(relative[stops[method]]) if stops[method] is not None
                        else float("nan"), final) for method in PEEKING_METHODS]


def wilson_interval(successes: int, trials: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(50, 1000)]
    [0.0381, 0.0653]
    """
    if trials < 1:
        return float("nan"), float("nan")
    z = float(special.ndtri(1 - (1 - confidence) / 2))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class MethodSummary:
    """One method over many runs of one comparison."""

    method: str
    runs: int
    stopped: int
    rate_low: float
    rate_high: float
    mean_stop_day: float
    """Mean day (1-based: look 0 is day 1) of the stops; NaN when no run stopped."""
    overshoot: float
    """Mean of (estimate at the stop / true effect) over stopped runs with the true effect's sign; NaN otherwise."""

    @property
    def rate(self) -> float:
        """Share of runs that stopped: the false-positive rate under A/A, the power under a true effect."""
        return self.stopped / self.runs


def summarize(outcomes: list[list[PeekOutcome]], true_effect: float | None = None) -> list[MethodSummary]:
    """Per method over runs (each run: ``peek``'s list); ``true_effect`` (%) for the overshoot of the stops."""
    summaries = []
    for index, method in enumerate(PEEKING_METHODS):
        per_run = [run[index] for run in outcomes]
        stopped = [o for o in per_run if o.stop is not None]
        low, high = wilson_interval(len(stopped), len(per_run))
        day = float(np.mean([o.stop + 1 for o in stopped if o.stop is not None])) if stopped else float("nan")
        overshoot = float("nan")
        if true_effect and stopped:
            same_sign = [o.estimate / true_effect for o in stopped if o.estimate * true_effect > 0]
            overshoot = float(np.mean(same_sign)) if same_sign else float("nan")
        summaries.append(MethodSummary(method, len(per_run), len(stopped), low, high, day, overshoot))
    return summaries
