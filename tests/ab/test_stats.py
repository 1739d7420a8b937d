"""Welch's test: hand-computed numbers and agreement with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from botify.ab import compare_arms, user_metrics, welch_ttest
from botify.errors import ConfigError


class TestWelch:
    def test_hand_computed(self) -> None:
        treatment, control = [3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0]
        # means 4 and 2.5; variances 1 and 5/3; se^2 = 1/3 + 5/12 = 0.75
        result = welch_ttest(treatment, control)
        assert result.estimate == pytest.approx(1.5)
        assert result.statistic == pytest.approx(1.5 / math.sqrt(0.75))
        df = 0.75**2 / ((1 / 3) ** 2 / 2 + (5 / 12) ** 2 / 3)
        assert result.df == pytest.approx(df)
        half = stats.t.ppf(0.975, df) * math.sqrt(0.75)
        assert (result.ci_low, result.ci_high) == pytest.approx((1.5 - half, 1.5 + half))

    @pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
    def test_agrees_with_scipy(self, alternative: str) -> None:
        rng = np.random.default_rng(0)
        a, b = rng.normal(1.0, 2.0, 300), rng.normal(0.8, 1.0, 200)
        ours = welch_ttest(a, b, alternative=alternative)  # type: ignore[arg-type]
        theirs = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
        interval = theirs.confidence_interval(0.95)
        assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-9)
        assert ours.pvalue == pytest.approx(theirs.pvalue, abs=1e-9)
        assert ours.df == pytest.approx(theirs.df, abs=1e-9)
        assert ours.ci_low == pytest.approx(interval.low, abs=1e-9)
        assert ours.ci_high == pytest.approx(interval.high, abs=1e-9)

    def test_tiny_groups_give_nan(self) -> None:
        assert math.isnan(welch_ttest([1.0], [1.0, 2.0]).statistic)

    def test_rejects_unknown_alternative(self) -> None:
        with pytest.raises(ConfigError, match=r"`alternative` must be one of \['two-sided', 'less', 'greater'\]"):
            welch_ttest([1, 2], [1, 2], alternative="bigger")  # type: ignore[arg-type]


class TestTable:
    def test_user_metrics_and_effects(self) -> None:
        # user 1 (arm 0): sessions of time 2 and 4; user 2 (arm 0): 3; users 3, 4 (arm 1): 6 and 4.
        metrics = user_metrics(user=[1, 1, 2, 3, 4], arm=[0, 0, 0, 1, 1], time=[2, 4, 3, 6, 4], tracks=[2, 4, 3, 5, 5])
        assert metrics.mean_time_per_session.tolist() == [3.0, 3.0, 6.0, 4.0]
        [row] = compare_arms(metrics, metric_names=("mean_time_per_session",))
        assert row.treatment == "T1" and row.control_mean == 3.0 and row.treatment_mean == 5.0
        assert row.effect == pytest.approx(200 / 3)
