"""Sample-ratio mismatch and Holm's adjustment: hand-computed values and scipy agreement."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from botify.ab.multiple import holm, sample_ratio_mismatch
from botify.errors import ConfigError


class TestSampleRatioMismatch:
    def test_agrees_with_scipy(self) -> None:
        observed = [1020, 980, 1100]
        ours = sample_ratio_mismatch(observed)
        theirs = stats.chisquare(observed)
        assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-9)
        assert ours.pvalue == pytest.approx(theirs.pvalue, abs=1e-9)
        assert ours.df == 2

    def test_hand_computed_with_shares(self) -> None:
        result = sample_ratio_mismatch([30, 70], shares=[1, 3])
        # expected 25 and 75: (25/25) + (25/75) = 1.3333
        assert result.statistic == pytest.approx(4 / 3)
        assert not result.mismatch

    def test_flags_a_broken_split(self) -> None:
        result = sample_ratio_mismatch([5000, 4400])
        assert result.mismatch and "SAMPLE RATIO MISMATCH" in result.describe()

    def test_rejects_bad_input(self) -> None:
        with pytest.raises(ConfigError, match="`observed` must hold at least two"):
            sample_ratio_mismatch([3])
        with pytest.raises(ConfigError, match="`shares` must be positive"):
            sample_ratio_mismatch([3, 4], shares=[1, 0])


class TestHolm:
    def test_hand_computed(self) -> None:
        # sorted 0.01, 0.02, 0.03, 0.2 -> 4*0.01, 3*0.02, 2*0.03, 1*0.2 = 0.04, 0.06, 0.06, 0.2
        assert holm([0.03, 0.01, 0.2, 0.02]).tolist() == pytest.approx([0.06, 0.04, 0.2, 0.06])

    def test_monotone_capped_and_nan_kept(self) -> None:
        adjusted = holm([0.5, np.nan, 0.4])
        assert np.isnan(adjusted[1])
        assert adjusted[0] == pytest.approx(0.8) and adjusted[2] == pytest.approx(0.8)
        assert holm([0.9, 0.8]).tolist() == [1.0, 1.0]
