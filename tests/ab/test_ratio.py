"""Delta-method ratios: hand-computed variance and calibrated intervals on simulated users."""

from __future__ import annotations

import numpy as np
import pytest

from botify.ab.ratio import delta_ratio_test, ratio_with_variance


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
