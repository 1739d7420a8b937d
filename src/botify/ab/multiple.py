"""Trust checks beside the Welch table: sample-ratio mismatch and Holm's multiple-comparison adjustment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special  # scipy.stats's own kernels, without its 1 s import

from botify.errors import ConfigError

__all__ = ["SRM_ALPHA", "SRMResult", "benjamini_hochberg", "holm", "sample_ratio_mismatch"]

SRM_ALPHA = 0.001
"""Reports warn about a sample-ratio mismatch below this p-value."""


@dataclass(frozen=True)
class SRMResult:
    """Pearson's chi-square test of users per arm against the configured split."""

    statistic: float
    pvalue: float
    df: int
    observed: tuple[int, ...]
    expected: tuple[float, ...]

    @property
    def mismatch(self) -> bool:
        """Whether ``pvalue < SRM_ALPHA``."""
        return self.pvalue < SRM_ALPHA

    def describe(self) -> str:
        """One line for reports."""
        verdict = "SAMPLE RATIO MISMATCH — do not trust this table" if self.mismatch else "no sample-ratio mismatch"
        return (f"SRM check: users per arm {list(self.observed)} vs expected "
                f"{[round(e, 1) for e in self.expected]}: chi2 = {self.statistic:.3f}, df = {self.df}, "
                f"p = {self.pvalue:.4g} ({verdict})")


def sample_ratio_mismatch(observed: npt.ArrayLike, shares: npt.ArrayLike | None = None) -> SRMResult:
    r"""Chi-square goodness of fit of arm sizes to the configured shares (equal shares by default).

    Notes
    -----
    With :math:`n` users, shares :math:`s_i` and expected counts :math:`E_i = n s_i`:
    :math:`\chi^2 = \sum_i (O_i - E_i)^2 / E_i` with :math:`k - 1` degrees of freedom; the p-value is the
    upper tail of the chi-square distribution (as ``scipy.stats.chisquare``).

    Examples
    --------
    >>> result = sample_ratio_mismatch([5040, 4960])
    >>> result.statistic, result.df, round(result.pvalue, 4)
    (0.64, 1, 0.4237)
    """
    counts = np.asarray(observed, dtype=np.float64)
    if counts.ndim != 1 or len(counts) < 2 or (counts < 0).any():
        raise ConfigError(f"`observed` must hold at least two non-negative counts, got {counts.tolist()}")
    weights = np.full(len(counts), 1.0 / len(counts)) if shares is None else np.asarray(shares, dtype=np.float64)
    if weights.shape != counts.shape or (weights <= 0).any():
        raise ConfigError(f"`shares` must be positive, one per arm ({len(counts)}), got {weights.tolist()}")
    expected = counts.sum() * weights / weights.sum()
    statistic = float(((counts - expected) ** 2 / expected).sum())
    df = len(counts) - 1
    return SRMResult(statistic, float(special.chdtrc(df, statistic)), df, tuple(int(c) for c in counts),
                     tuple(float(e) for e in expected))


def holm(pvalues: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Holm's step-down adjusted p-values (family-wise error control), in the input order.

    Notes
    -----
    Sort the :math:`m` p-values ascending, :math:`p_{(1)} \le \dots \le p_{(m)}`; the adjusted values are
    :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1) p_{(j)})`. NaN p-values stay NaN and do not count
    in :math:`m`. Reference: S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J.
    Statist. 6 (1979).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p, order, out = _sorted_valid(pvalues)
    m = len(order)
    out[order] = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    return out


def _sorted_valid(pvalues: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp],
                                                    npt.NDArray[np.float64]]:
    """The p-values, the positions of the non-NaN ones in ascending order, and an all-NaN output to fill."""
    p = np.asarray(pvalues, dtype=np.float64)
    valid = np.flatnonzero(~np.isnan(p))
    return p, valid[np.argsort(p[valid], kind="stable")], np.full(p.shape, np.nan)


def benjamini_hochberg(pvalues: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Benjamini-Hochberg adjusted p-values (false discovery rate control), in the input order.

    Notes
    -----
    With the :math:`m` p-values sorted ascending, :math:`\tilde p_{(i)} = \min_{j \ge i} \min(1, m p_{(j)} / j)`.
    NaN p-values stay NaN and do not count in :math:`m`. Reference: Y. Benjamini & Y. Hochberg, "Controlling the
    false discovery rate", J. R. Statist. Soc. B 57 (1995).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    p, order, out = _sorted_valid(pvalues)
    m = len(order)
    scaled = np.minimum(1.0, m * p[order] / np.arange(1, m + 1))
    out[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return out
