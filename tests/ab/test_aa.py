"""A/A on simulated sessions: the Welch test's false positive rate sits near alpha."""

from __future__ import annotations

import pytest

from botify.ab import user_metrics
from botify.ab.aa import aa_false_positive_rate
from botify.errors import ConfigError
from botify.experiments import ExperimentPlan
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld


class TestAA:
    def test_false_positive_rate_on_simulated_logs(self, sim_world: SimWorld) -> None:
        plan = ExperimentPlan.single("AA", ["sticky_artist"], seed=3)
        results = InProcessAgent(sim_world, plan).play(range(4000), seed=21)
        metrics = user_metrics(results.user, [0] * len(results), results.time, results.tracks)
        aa = aa_false_positive_rate(metrics.user, metrics.mean_time_per_session, runs=1000, seed=7)
        assert 0.03 <= aa.rate <= 0.07, aa.describe()

    def test_bad_input(self) -> None:
        with pytest.raises(ConfigError, match="at least 4 users"):
            aa_false_positive_rate([1, 2], [1.0, 2.0])
