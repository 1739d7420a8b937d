"""Quantile metrics: intervals that treat users as the unit cover the true quantile as often as they claim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.ab.quantiles import quantile_difference, quantile_interval
from botify.errors import ConfigError
from botify.metric_plan import MetricPlan

RUNS = 1000


def clustered_sample(rng: np.random.Generator, users: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal observations with a strong per-user level: a user's sessions are alike."""
    per_user = rng.poisson(3, size=users) + 1
    unit = np.repeat(np.arange(users), per_user)
    level = rng.normal(0.0, 0.8, size=users)
    return scale * np.exp(level[unit] + rng.normal(0.0, 0.5, size=len(unit))), unit


@pytest.fixture(scope="module")
def truth() -> dict[float, float]:
    """The population's quantiles, from ten million observations."""
    values, _ = clustered_sample(np.random.default_rng(12345), 2_500_000)
    return {level: float(np.quantile(values, level)) for level in (0.5, 0.9, 0.99)}


@pytest.mark.parametrize(("level", "users"), [(0.5, 500), (0.9, 500), (0.99, 3000)])
def test_the_interval_covers_the_true_quantile_95_percent_of_the_time(truth: dict[float, float], level: float,
                                                                       users: int) -> None:
    rng = np.random.default_rng(int(level * 1000))
    covered = 0
    for _ in range(RUNS):
        values, unit = clustered_sample(rng, users)
        estimate = quantile_interval(values, unit, level)
        covered += estimate.lower <= truth[level] <= estimate.upper
    assert 0.93 <= covered / RUNS <= 0.97, covered


def test_observations_as_the_unit_would_cover_far_less(truth: dict[float, float]) -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(RUNS):
        values, _ = clustered_sample(rng, 500)
        estimate = quantile_interval(values, np.arange(len(values)), 0.5)  # every session its own user
        covered += estimate.lower <= truth[0.5] <= estimate.upper
    assert covered / RUNS < 0.85, covered


def test_the_difference_of_two_arms_quantiles_covers_the_true_shift(truth: dict[float, float]) -> None:
    rng = np.random.default_rng(99)
    covered = significant = 0
    for _ in range(RUNS):
        control, control_unit = clustered_sample(rng, 800)
        treatment, treatment_unit = clustered_sample(rng, 800, scale=1.1)  # every quantile 10 % higher
        result = quantile_difference(treatment, treatment_unit, control, control_unit, 0.9)
        covered += result.lower_difference <= 0.1 * truth[0.9] <= result.upper_difference
        significant += result.pvalue < 0.05
    assert 0.93 <= covered / RUNS <= 0.97, covered
    assert significant > 0  # it can see a 10 % shift at all


def test_ties_and_bad_input() -> None:
    values, unit = np.ones(100), np.repeat(np.arange(20), 5)
    same = quantile_difference(values, unit, values, unit, 0.5)
    assert (same.difference, same.pvalue) == (0.0, 1.0)  # both medians sit on the same atom
    with pytest.raises(ConfigError, match="level"):
        quantile_interval(values, unit, 1.0)
    with pytest.raises(ConfigError, match="one entry each"):
        quantile_interval(values, unit[:-1], 0.5)
    assert np.isnan(quantile_interval([1.0, 2.0], [3, 3], 0.5).estimate)  # one user: no interval


def test_quantile_metrics_take_any_role_in_the_experiment_file() -> None:
    plan = MetricPlan.from_dict({"primary": "p90_session_time",
                                 "guardrails": [{"metric": "p99_request_latency", "tolerance": 5.0}]})
    assert plan.primary.name == "p90_session_time" and plan.direction("p99_request_latency") == "lower"
    assert "median_session_time" in [spec.name for spec in plan.secondary]


def test_a_quantile_can_be_the_primary_metric_of_the_verdict(collection_logs: Path) -> None:
    from botify.ab.analyze import analyze_logs

    plan = MetricPlan.from_dict({"primary": "p90_session_time"})
    analysis = analyze_logs([collection_logs], "EXPLORATION", metrics_plan=plan)
    sticky = next(v for v in analysis.verdicts if v.treatment == "T1")  # StickyArtist against Random
    assert sticky.decision == "ship" and sticky.reason.startswith("p90_session_time +")
    row = next(r for r in analysis.rows if (r.treatment, r.metric) == ("T1", "p90_session_time"))
    assert row.treatment_mean > row.control_mean and row.significant
