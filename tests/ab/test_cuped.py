"""CUPED: the coefficient by hand, unbiasedness, and the variance it removes."""

from __future__ import annotations

import numpy as np
import pytest

from botify.ab.cuped import cuped


class TestCuped:
    def test_hand_computed(self) -> None:
        y, x = np.array([1.0, 2.0, 3.0, 5.0]), np.array([1.0, 2.0, 3.0, 4.0])
        result = cuped(y, x)
        theta = np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1)
        assert result.theta == pytest.approx(theta)
        np.testing.assert_allclose(result.adjusted, y - theta * (x - 2.5))
        assert result.adjusted.mean() == pytest.approx(y.mean())

    def test_removes_the_explained_variance(self) -> None:
        rng = np.random.default_rng(0)
        x = rng.normal(0, 1, 20000)
        y = 2 * x + rng.normal(0, 1, 20000)  # corr^2 = 0.8
        result = cuped(y, x)
        assert result.variance_reduction == pytest.approx(0.8, abs=0.02)

    def test_users_without_history_are_left_alone(self) -> None:
        y = np.array([1.0, 2.0, 3.0, 4.0, 9.0])
        x = np.array([1.0, 2.0, 3.5, 4.0, np.nan])
        result = cuped(y, x)
        assert result.adjusted[-1] == 9.0 and result.covered == pytest.approx(0.8)

    def test_separate_slopes_per_arm(self) -> None:
        rng = np.random.default_rng(1)
        x = rng.normal(0, 1, 4000)
        arm = np.repeat([0, 1], 2000)
        y = np.where(arm == 0, x, 3 * x) + rng.normal(0, 0.5, 4000)
        result = cuped(y, x, arm)
        assert np.var(result.adjusted[arm == 1]) < 0.3 and result.variance_reduction > 0.7
