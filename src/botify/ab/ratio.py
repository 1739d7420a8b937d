"""Ratio metrics pooled over sessions, compared by the delta method (users are the independent units)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special  # scipy.stats's own kernels, without its 1 s import

from botify.errors import ConfigError

__all__ = ["RatioResult", "delta_ratio_test", "ratio_with_variance"]


@dataclass(frozen=True)
class RatioResult:
    """Difference of two pooled ratios with a normal interval, effect in % of the control ratio."""

    control: float
    treatment: float
    effect: float
    lower: float
    upper: float
    pvalue: float


def ratio_with_variance(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> tuple[float, float]:
    r"""Pooled ratio :math:`R = \sum x / \sum y` over users and the delta-method variance of :math:`R`.

    Notes
    -----
    With per-user totals :math:`(x_i, y_i)`, :math:`n` users, means :math:`\bar x, \bar y`, sample variances
    :math:`s_x^2, s_y^2` and covariance :math:`s_{xy}`:
    :math:`\mathrm{Var}(R) \approx (s_x^2 - 2 R s_{xy} + R^2 s_y^2) / (n \bar y^2)` (Deng, Knoblich & Lu,
    "Applying the delta method in metric analytics", KDD 2018).

    Examples
    --------
    >>> ratio, variance = ratio_with_variance([10, 12, 9, 15], [4, 5, 3, 6])
    >>> round(ratio, 4), round(variance, 5)
    (2.5556, 0.01047)
    """
    x = np.asarray(numerator, dtype=np.float64)
    y = np.asarray(denominator, dtype=np.float64)
    if x.shape != y.shape or len(x) < 2:
        raise ConfigError("numerator and denominator need one value per user and at least two users")
    ratio = float(x.sum() / y.sum())
    covariance = np.cov(x, y, ddof=1)
    variance = (covariance[0, 0] - 2 * ratio * covariance[0, 1] + ratio**2 * covariance[1, 1]) / (
        len(x) * y.mean() ** 2)
    return ratio, float(variance)


def delta_ratio_test(numerator_t: npt.ArrayLike, denominator_t: npt.ArrayLike, numerator_c: npt.ArrayLike,
                     denominator_c: npt.ArrayLike, *, alpha: float = 0.05) -> RatioResult:
    """Treatment vs control pooled ratios: ``(R_t - R_c) / R_c`` in %, with a two-sided normal interval.

    Examples
    --------
    >>> result = delta_ratio_test([10, 12, 9, 15], [4, 5, 3, 6], [8, 9, 7, 10], [4, 4, 3, 5])
    >>> round(result.effect, 2), round(result.lower, 2), round(result.upper, 2), round(result.pvalue, 4)
    (20.26, 8.19, 32.34, 0.001)
    """
    r_t, v_t = ratio_with_variance(numerator_t, denominator_t)
    r_c, v_c = ratio_with_variance(numerator_c, denominator_c)
    difference, se = r_t - r_c, float(np.sqrt(v_t + v_c))
    half = float(special.ndtri(1 - alpha / 2)) * se
    pvalue = float(2 * special.ndtr(-abs(difference) / se)) if se > 0 else float("nan")
    return RatioResult(r_c, r_t, 100 * difference / r_c, 100 * (difference - half) / r_c,
                       100 * (difference + half) / r_c, pvalue)
