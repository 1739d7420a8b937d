"""Calibration of the default world: the seminar's ranking of Random, StickyArtist and TopPop."""

from __future__ import annotations

import numpy as np
import pytest

from botify.ab import compare_arms, user_metrics
from botify.experiments import default_plan
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld


@pytest.fixture(scope="module")
def calibration_rows(default_world: SimWorld) -> tuple[float, dict[str, tuple[float, bool]]]:
    world = default_world
    plan = default_plan()
    results = InProcessAgent(world, plan).play(range(60_000), seed=2024)
    metrics = user_metrics(results.user, plan.routing.assign_many(results.user), results.time, results.tracks)
    random_mean = float(np.mean(metrics.mean_time_per_session[metrics.arm == 0]))
    rows = compare_arms(metrics, metric_names=("mean_time_per_session",))
    return random_mean, {row.treatment: (row.effect, row.significant) for row in rows}


class TestCalibration:
    def test_random_listens_about_one_track_per_session(self, calibration_rows) -> None:  # type: ignore[no-untyped-def]
        random_mean, _ = calibration_rows
        assert 0.9 <= random_mean <= 1.1

    def test_sticky_artist_is_much_better(self, calibration_rows) -> None:  # type: ignore[no-untyped-def]
        effect, significant = calibration_rows[1]["T1"]
        assert significant and 40 <= effect <= 100

    def test_toppop_is_about_random(self, calibration_rows) -> None:  # type: ignore[no-untyped-def]
        effect, _ = calibration_rows[1]["T2"]
        assert -15 <= effect <= 15
