"""Coverage study: how often the analysis's 95 % intervals cover a known true effect.

The true effects come from a very large in-process run; the intervals from many smaller runs on disjoint episode
ranges of the same world. Four intervals are checked, treatment (arm 1) against control (arm 0):

- ``absolute``: Welch's interval of the difference of per-user mean time per session;
- ``scaled`` and ``delta``: the two intervals of the relative effect in % (``botify.ab.stats.relative_effect``);
  at large effects (StickyArtist against Random is ≈ +70 %) ``scaled`` ignores the control mean's error;
- ``p90``: the interval of the difference of the arms' 90th percentiles of session time, users as the unit
  (``botify.ab.quantiles``).
"""

from __future__ import annotations

from dataclasses import dataclass

from botify.ab.metrics import user_metrics
from botify.ab.quantiles import quantile_difference
from botify.ab.stats import relative_effect, welch_ttest
from botify.experiments import ExperimentPlan
from botify.progress import ProgressCallback
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld

__all__ = ["INTERVALS", "CoverageResult", "interval_coverage"]

INTERVALS = ("absolute", "scaled", "delta", "p90")


@dataclass(frozen=True)
class CoverageResult:
    """Per interval kind: the large-run truth and how many small-run intervals contained it."""

    truth: dict[str, float]
    runs: int
    covered_by: dict[str, int]

    @property
    def true_effect(self) -> float:
        """The absolute difference of mean time per session in the large run."""
        return self.truth["absolute"]

    @property
    def covered(self) -> int:
        """Welch intervals of the absolute difference that contained it."""
        return self.covered_by["absolute"]

    @property
    def coverage(self) -> float:
        """Covered share of the absolute difference's intervals."""
        return self.covered / self.runs

    def describe(self) -> str:
        """One line per interval kind."""
        words = {"absolute": "Welch intervals of the difference of mean time per session",
                 "scaled": "relative intervals, Welch's over the control mean",
                 "delta": "relative intervals, delta method",
                 "p90": "intervals of the difference of p90 session time (users as the unit)"}
        unit = {"absolute": "", "scaled": " %", "delta": " %", "p90": ""}
        return "\n".join(f"coverage: {self.covered_by[k]} of {self.runs} 95 % {words[k]} contain the large-run "
                         f"{self.truth[k]:+.4f}{unit[k]} ({self.covered_by[k] / self.runs:.1%})" for k in INTERVALS)


def interval_coverage(world: SimWorld, recommenders: tuple[str, str], *, runs: int, episodes: int,
                      truth_episodes: int, seed: int = 0, progress: ProgressCallback | None = None) -> CoverageResult:
    """Large run for the truth, then ``runs`` runs of ``episodes`` episodes each; arm 1 against arm 0."""
    plan = ExperimentPlan.single("COVERAGE", list(recommenders), seed=seed)

    def intervals(first: int, count: int) -> dict[str, tuple[float, float, float]]:
        results = InProcessAgent(world, plan).play(range(first, first + count), seed=seed)
        arm_of_session = plan.routing.assign_many(results.user)
        metrics = user_metrics(results.user, arm_of_session, results.time, results.tracks)
        values = metrics.mean_time_per_session
        t, c = values[metrics.arm == 1], values[metrics.arm == 0]
        test = welch_ttest(t, c)
        scaled, delta = (relative_effect(t, c, interval=kind, welch=test) for kind in ("scaled", "delta"))
        treated, control = arm_of_session == 1, arm_of_session == 0
        p90 = quantile_difference(results.time[treated], results.user[treated], results.time[control],
                                  results.user[control], 0.9)
        return {"absolute": (test.estimate, test.ci_low, test.ci_high),
                "scaled": (scaled.effect, scaled.lower, scaled.upper),
                "delta": (delta.effect, delta.lower, delta.upper),
                "p90": (p90.difference, p90.lower_difference, p90.upper_difference)}

    truth = {kind: estimate for kind, (estimate, _, _) in intervals(0, truth_episodes).items()}
    covered = dict.fromkeys(INTERVALS, 0)
    for run in range(runs):
        for kind, (_, low, high) in intervals(truth_episodes + run * episodes, episodes).items():
            covered[kind] += low <= truth[kind] <= high
        if progress is not None:
            progress("coverage runs", run + 1, runs)
    return CoverageResult(truth, runs, covered)
