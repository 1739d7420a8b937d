"""Power and MDE: hand-computed values, round trip, and agreement with a simulated test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from botify.ab.power import minimum_detectable_effect, required_users
from botify.errors import ConfigError


class TestPower:
    def test_hand_computed(self) -> None:
        z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)  # 2.8016
        assert required_users(1.0, 1.0, 0.1) == int(np.ceil(2 * (z / 0.1) ** 2))  # 1570
        assert minimum_detectable_effect(1.0, 1.0, 1570) == pytest.approx(z * np.sqrt(2 / 1570))

    def test_round_trip(self) -> None:
        n = required_users(0.5, 2.0, 0.03)
        assert minimum_detectable_effect(0.5, 2.0, n) <= 0.03 < minimum_detectable_effect(0.5, 2.0, n - 50)

    def test_power_is_what_it_says(self) -> None:
        rng = np.random.default_rng(0)
        n = required_users(1.0, 1.0, 0.2)
        hits = sum(stats.ttest_ind(rng.normal(1.2, 1, n), rng.normal(1.0, 1, n), equal_var=False).pvalue < 0.05
                   for _ in range(400))
        assert 0.74 <= hits / 400 <= 0.86

    def test_bad_input(self) -> None:
        with pytest.raises(ConfigError, match="`alpha` and `power` must be in"):
            required_users(1, 1, 0.1, power=1.5)
        with pytest.raises(ConfigError, match="`users_per_arm` must be >= 2"):
            minimum_detectable_effect(1, 1, 1)
