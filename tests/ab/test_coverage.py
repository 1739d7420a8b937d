"""Coverage of the 95 % intervals on the default world (fixed seeds, so the figures are reproducible)."""

from __future__ import annotations

import pytest

from botify.recipes.coverage import CoverageResult, interval_coverage
from botify.sim.world import SimWorld


@pytest.fixture(scope="module")
def coverage(default_world: SimWorld) -> CoverageResult:
    """StickyArtist against Random (≈ +70 %): 400 runs of 1,000 episodes against a 2,000,000-episode truth."""
    return interval_coverage(default_world, ("random", "sticky_artist"), runs=400, episodes=1000,
                             truth_episodes=2_000_000)


@pytest.mark.parametrize("kind", ["absolute", "delta", "p90"])
def test_intervals_cover_the_large_run_effect(coverage: CoverageResult, kind: str) -> None:
    assert 0.93 <= coverage.covered_by[kind] / coverage.runs <= 0.97, coverage.describe()


def test_the_delta_relative_interval_covers_at_least_as_often_as_the_scaled_one(coverage: CoverageResult) -> None:
    # at a large effect the scaled interval leaves out the control mean's error
    assert coverage.truth["scaled"] == pytest.approx(coverage.truth["delta"])
    assert coverage.truth["delta"] > 50
    assert coverage.covered_by["delta"] >= coverage.covered_by["scaled"], coverage.describe()
