"""Bootstrap intervals: seeded, close to Welch's on well-behaved data, and covering the truth."""

from __future__ import annotations

import numpy as np
import pytest

from botify.ab import welch_ttest
from botify.ab.bootstrap import bootstrap_relative_effect
from botify.errors import ConfigError


class TestBootstrap:
    def test_same_seed_same_interval(self) -> None:
        rng = np.random.default_rng(1)
        t, c = rng.normal(1.1, 0.5, 800), rng.normal(1.0, 0.5, 900)
        assert bootstrap_relative_effect(t, c, seed=3) == bootstrap_relative_effect(t, c, seed=3)
        assert bootstrap_relative_effect(t, c, seed=3) != bootstrap_relative_effect(t, c, seed=4)

    def test_close_to_welch_on_normal_data(self) -> None:
        rng = np.random.default_rng(2)
        t, c = rng.normal(1.1, 0.5, 3000), rng.normal(1.0, 0.5, 3000)
        boot = bootstrap_relative_effect(t, c, resamples=2000)
        welch = welch_ttest(t, c)
        width_welch = 100 * (welch.ci_high - welch.ci_low) / c.mean()
        assert boot.upper - boot.lower == pytest.approx(width_welch, rel=0.15)
        assert boot.lower < boot.effect < boot.upper

    def test_covers_the_true_effect(self) -> None:
        rng = np.random.default_rng(3)
        covered = 0
        for seed in range(100):
            t, c = rng.exponential(1.2, 400), rng.exponential(1.0, 400)
            result = bootstrap_relative_effect(t, c, resamples=400, seed=seed)
            covered += result.lower <= 20.0 <= result.upper
        assert covered >= 88

    def test_bad_input(self) -> None:
        with pytest.raises(ConfigError, match="at least two users per arm"):
            bootstrap_relative_effect([1.0], [1.0, 2.0])
