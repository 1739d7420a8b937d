"""Ratio metrics pooled over sessions, compared by the delta method (users are the independent units), and CUPED."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special  # scipy.stats's own kernels, without its 1 s import

from botify.errors import ConfigError

__all__ = ["CupedRatioResult", "RatioResult", "cuped_ratio_test", "delta_ratio_test", "linearized",
           "ratio_with_variance"]

FloatArray = npt.NDArray[np.float64]


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


@dataclass(frozen=True)
class CupedRatioResult:
    """The difference of pooled ratios adjusted by the same ratio's pre-period, in % of the control ratio."""

    effect: float
    lower: float
    upper: float
    pvalue: float
    theta: float
    variance_reduction: float
    """1 - Var(adjusted difference) / Var(unadjusted difference)."""


def linearized(numerator: FloatArray, denominator: FloatArray) -> tuple[float, FloatArray]:
    """The pooled ratio and each user's influence on it, ``(x_i - R y_i) / mean(y)`` (whose mean is 0)."""
    ratio = float(numerator.sum() / denominator.sum())
    return ratio, (numerator - ratio * denominator) / denominator.mean()


def cuped_ratio_test(treatment: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
                     control: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike], *,
                     alpha: float = 0.05) -> CupedRatioResult:
    r"""CUPED for a pooled ratio: each arm's ``(numerator, denominator, pre_numerator, pre_denominator)`` per user.

    Notes
    -----
    Each ratio is linearized by the delta method, :math:`\ell_i = (x_i - R y_i)/\bar y` for the experiment's ratio
    :math:`R` and :math:`m_i = (u_i - R^{pre} v_i)/\bar v` for the pre-period's, so that
    :math:`\mathrm{Var}(R) \approx \mathrm{var}(\ell)/n` and :math:`\mathrm{Cov}(R, R^{pre}) \approx
    \mathrm{cov}(\ell, m)/n`. The adjusted difference is
    :math:`(R_t - R_c) - \theta (R^{pre}_t - R^{pre}_c)` with
    :math:`\theta = \sum_a \mathrm{cov}_a(\ell, m)/n_a \,/\, \sum_a \mathrm{var}_a(m)/n_a`, and its variance
    :math:`\sum_a (\mathrm{var}(\ell) - 2\theta\,\mathrm{cov}(\ell, m) + \theta^2 \mathrm{var}(m))/n_a`
    (Deng, Xu, Kohavi & Walker, WSDM 2013, section 3.3; Budylin et al., "Consistent transformation of ratio
    metrics for efficient online controlled experiments", WSDM 2018). Users without a pre-period have zero pre-period
    sums: they add nothing to the covariate.

    Examples
    --------
    >>> t = ([10, 12, 9, 15], [4, 5, 3, 6], [9, 11, 8, 14], [4, 5, 3, 6])
    >>> c = ([8, 9, 7, 10], [4, 4, 3, 5], [8, 10, 7, 10], [4, 4, 3, 5])
    >>> result = cuped_ratio_test(t, c)
    >>> round(result.effect, 2), round(result.theta, 3), result.variance_reduction > 0
    (15.02, 0.764, True)
    """
    parts = []
    for arm in (treatment, control):
        x, y, u, v = (np.asarray(a, dtype=np.float64) for a in arm)
        if not x.shape == y.shape == u.shape == v.shape or len(x) < 2:
            raise ConfigError("each arm needs per-user numerator, denominator and their pre-period, 2+ users")
        if v.sum() <= 0:
            raise ConfigError("no user of an arm has a pre-period: CUPED has no covariate")
        ratio, ell = linearized(x, y)
        pre_ratio, m = linearized(u, v)
        covariance = np.cov(ell, m, ddof=1) / len(x)
        parts.append((ratio, pre_ratio, covariance))
    (r_t, pre_t, cov_t), (r_c, pre_c, cov_c) = parts
    theta = float((cov_t[0, 1] + cov_c[0, 1]) / (cov_t[1, 1] + cov_c[1, 1]))
    difference = (r_t - r_c) - theta * (pre_t - pre_c)
    variance = sum(c[0, 0] - 2 * theta * c[0, 1] + theta**2 * c[1, 1] for c in (cov_t, cov_c))
    unadjusted = cov_t[0, 0] + cov_c[0, 0]
    se = float(np.sqrt(variance))
    half = float(special.ndtri(1 - alpha / 2)) * se
    pvalue = float(2 * special.ndtr(-abs(difference) / se)) if se > 0 else float("nan")
    return CupedRatioResult(100 * difference / r_c, 100 * (difference - half) / r_c, 100 * (difference + half) / r_c,
                            pvalue, theta, 1 - float(variance / unadjusted) if unadjusted > 0 else 0.0)
