"""Welch's two-sample t test and interval, as the reference A/B notebook computes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special  # scipy.stats's own kernels, without its 1 s import

from botify.errors import ConfigError

__all__ = ["TTestResult", "welch_ttest"]

Alternative = Literal["two-sided", "less", "greater"]
_ALTERNATIVES = ("two-sided", "less", "greater")


@dataclass(frozen=True)
class TTestResult:
    """Result of ``welch_ttest``: the statistic, its p-value and df, and the difference with its interval."""

    statistic: float
    pvalue: float
    df: float
    estimate: float
    ci_low: float
    ci_high: float


def welch_ttest(
    treatment: npt.ArrayLike, control: npt.ArrayLike, *, alpha: float = 0.05, alternative: Alternative = "two-sided"
) -> TTestResult:
    r"""Welch's unequal-variance t test of ``mean(treatment) - mean(control)``.

    Notes
    -----
    With sample means :math:`\bar t, \bar c`, sample variances (``ddof=1``) :math:`s_t^2, s_c^2` and sizes
    :math:`n_t, n_c`:

    .. math::

        d = \bar t - \bar c, \quad
        SE = \sqrt{s_t^2 / n_t + s_c^2 / n_c}, \quad t = d / SE,

        \nu = \frac{(s_t^2/n_t + s_c^2/n_c)^2}{(s_t^2/n_t)^2/(n_t-1) + (s_c^2/n_c)^2/(n_c-1)}
        \quad \text{(Welch–Satterthwaite)}.

    The interval is :math:`d \pm t_{1-\alpha/2,\nu} SE` (two-sided) or one-sided bounds. A positive
    statistic means the treatment mean is larger. Fewer than two observations in a group give NaN.

    References
    ----------
    .. [1] B. L. Welch, "The generalization of 'Student's' problem when several different population variances
       are involved", Biometrika 34 (1947).

    Examples
    --------
    >>> result = welch_ttest([2.1, 2.5, 1.9, 2.8, 2.4], [1.8, 2.0, 1.7, 2.2, 1.9, 2.1])
    >>> round(result.estimate, 3), round(result.statistic, 3), round(result.df, 2), round(result.pvalue, 4)
    (0.39, 2.236, 5.86, 0.0678)
    >>> round(result.ci_low, 3), round(result.ci_high, 3)
    (-0.039, 0.819)
    """
    if alternative not in _ALTERNATIVES:
        raise ConfigError(f"`alternative` must be one of {list(_ALTERNATIVES)}, got {alternative!r}")
    if not 0 < alpha < 1:
        raise ConfigError(f"`alpha` must be in (0, 1), got {alpha!r}")
    t = np.asarray(treatment, dtype=np.float64)
    c = np.asarray(control, dtype=np.float64)
    if len(t) < 2 or len(c) < 2:
        nan = float("nan")
        return TTestResult(nan, nan, nan, nan, nan, nan)
    vt, vc = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    estimate = float(t.mean() - c.mean())
    se = float(np.sqrt(vt + vc))
    df = float((vt + vc) ** 2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1))) if se > 0 else float("nan")
    statistic = estimate / se if se > 0 else float("nan")
    if alternative == "two-sided":
        pvalue = float(2 * special.stdtr(df, -abs(statistic)))
        half = float(special.stdtrit(df, 1 - alpha / 2) * se)
        low, high = estimate - half, estimate + half
    elif alternative == "greater":
        pvalue = float(special.stdtr(df, -statistic))
        low, high = estimate - float(special.stdtrit(df, 1 - alpha) * se), float("inf")
    else:
        pvalue = float(special.stdtr(df, statistic))
        low, high = float("-inf"), estimate + float(special.stdtrit(df, 1 - alpha) * se)
    return TTestResult(float(statistic), pvalue, df, estimate, low, high)
