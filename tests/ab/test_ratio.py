"""Delta-method ratios: hand-computed variance and calibrated intervals on simulated users."""

from __future__ import annotations

import numpy as np
import pytest

from botify.ab.ratio import cuped_ratio_test, delta_ratio_test, ratio_with_variance
from botify.errors import ConfigError


class TestDeltaMethod:
    def test_hand_computed(self) -> None:
        x, y = np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 4.0])
        ratio, variance = ratio_with_variance(x, y)
        assert ratio == pytest.approx(12 / 7)
        sx2, sy2, sxy = 4.0, 7 / 3, 3.0
        assert variance == pytest.approx((sx2 - 2 * ratio * sxy + ratio**2 * sy2) / (3 * (7 / 3) ** 2))

    def test_variance_matches_simulation(self) -> None:
        rng = np.random.default_rng(0)

        def sample() -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
            sessions = rng.poisson(3, 500) + 1
            return rng.gamma(2.0, 0.6, 500) * sessions, sessions.astype(float)

        ratios = [ratio_with_variance(*sample())[0] for _ in range(2000)]
        assert ratio_with_variance(*sample())[1] == pytest.approx(np.var(ratios), rel=0.15)

    def test_interval_covers_a_null_effect(self) -> None:
        rng = np.random.default_rng(1)
        covered = 0
        for _ in range(300):
            s_t, s_c = rng.poisson(2, 400) + 1, rng.poisson(2, 400) + 1
            result = delta_ratio_test(rng.exponential(1.0, 400) * s_t, s_t, rng.exponential(1.0, 400) * s_c, s_c)
            covered += result.lower <= 0 <= result.upper
        assert 0.92 <= covered / 300 <= 0.98


def experiment_with_history(rng: np.random.Generator, users: int, effect: float = 0.0) -> tuple[np.ndarray, ...]:
    """Per user: time and sessions in the experiment and in a pre-period; a user's taste persists across both."""
    level = rng.lognormal(0.0, 0.6, users)
    sessions, pre_sessions = rng.poisson(3, users) + 1, rng.poisson(3, users)
    time = level * (1 + effect) * sessions * rng.gamma(8.0, 1 / 8, users)
    pre_time = level * pre_sessions * rng.gamma(8.0, 1 / 8, users)
    return time, sessions.astype(float), pre_time, pre_sessions.astype(float)


class TestCupedForRatios:
    def test_unbiased_covering_and_narrower(self) -> None:
        rng = np.random.default_rng(3)
        adjusted, plain, covered, reductions, claimed = [], [], 0, [], []
        for _ in range(1000):
            treatment, control = experiment_with_history(rng, 400), experiment_with_history(rng, 400)
            result = cuped_ratio_test(treatment, control)
            adjusted.append(result.effect)
            plain.append(delta_ratio_test(*treatment[:2], *control[:2]).effect)
            covered += result.lower <= 0 <= result.upper
            reductions.append(result.variance_reduction)
            claimed.append(((result.upper - result.lower) / (2 * 1.959964)) ** 2)
        assert abs(np.mean(adjusted)) < 3 * np.std(adjusted) / np.sqrt(1000)  # no bias
        assert 0.93 <= covered / 1000 <= 0.97
        # the variance it claims is the variance the simulation shows, and it is far below the plain ratio's
        assert np.mean(claimed) == pytest.approx(np.var(adjusted), rel=0.1)
        assert np.mean(reductions) > 0.3 and np.var(adjusted) < 0.7 * np.var(plain)

    def test_it_finds_an_effect_the_plain_ratio_misses_more_often(self) -> None:
        rng = np.random.default_rng(4)
        plain = adjusted = 0
        for _ in range(300):
            treatment, control = experiment_with_history(rng, 300, effect=0.05), experiment_with_history(rng, 300)
            plain += delta_ratio_test(*treatment[:2], *control[:2]).pvalue < 0.05
            adjusted += cuped_ratio_test(treatment, control).pvalue < 0.05
        assert adjusted > 1.4 * plain

    def test_without_any_pre_period_it_refuses(self) -> None:
        zeros = np.zeros(5)
        arm = (np.ones(5), np.ones(5), zeros, zeros)
        with pytest.raises(ConfigError, match="pre-period"):
            cuped_ratio_test(arm, arm)
