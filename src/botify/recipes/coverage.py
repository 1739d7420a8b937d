"""Coverage study: how often the analysis's 95 % Welch intervals cover a known true effect.

The true effect is the difference of per-user mean time per session between two arms, estimated on a very
large in-process run; the intervals come from many smaller runs on disjoint episode ranges of the same world.
"""

from __future__ import annotations

from dataclasses import dataclass

from botify.ab.metrics import user_metrics
from botify.ab.stats import welch_ttest
from botify.experiments import ExperimentPlan
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld

__all__ = ["CoverageResult", "interval_coverage"]


@dataclass(frozen=True)
class CoverageResult:
    """Share of small-run intervals that contain the large-run effect."""

    true_effect: float
    runs: int
    covered: int

    @property
    def coverage(self) -> float:
        """Covered share."""
        return self.covered / self.runs

    def describe(self) -> str:
        """One line."""
        return (f"coverage: {self.covered} of {self.runs} Welch 95 % intervals contain the large-run effect "
                f"{self.true_effect:+.4f} ({self.coverage:.1%})")


def interval_coverage(world: SimWorld, recommenders: tuple[str, str], *, runs: int, episodes: int,
                      truth_episodes: int, seed: int = 0) -> CoverageResult:
    """Large run for the truth, then ``runs`` runs of ``episodes`` episodes each; absolute difference, arm 1 − 0."""
    plan = ExperimentPlan.single("COVERAGE", list(recommenders), seed=seed)

    def difference(first: int, count: int) -> tuple[float, float, float]:
        results = InProcessAgent(world, plan).play(range(first, first + count), seed=seed)
        metrics = user_metrics(results.user, plan.routing.assign_many(results.user), results.time, results.tracks)
        values = metrics.mean_time_per_session
        test = welch_ttest(values[metrics.arm == 1], values[metrics.arm == 0])
        return test.estimate, test.ci_low, test.ci_high

    true_effect = difference(0, truth_episodes)[0]
    covered = 0
    for run in range(runs):
        _, low, high = difference(truth_episodes + run * episodes, episodes)
        covered += low <= true_effect <= high
    return CoverageResult(float(true_effect), runs, covered)
