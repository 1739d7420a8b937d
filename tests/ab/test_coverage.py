"""Coverage of the 95 % Welch intervals on the default world (fixed seeds, so the figure is reproducible)."""

from __future__ import annotations

from botify.recipes.coverage import interval_coverage
from botify.sim.world import SimWorld


class TestCoverage:
    def test_welch_intervals_cover_the_large_run_effect(self, default_world: SimWorld) -> None:
        result = interval_coverage(default_world, ("random", "sticky_artist"), runs=400, episodes=1000,
                                   truth_episodes=2_000_000)
        assert 0.93 <= result.coverage <= 0.97, result.describe()
