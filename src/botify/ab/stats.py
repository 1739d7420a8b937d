"""Welch's two-sample t test and interval, as the reference A/B notebook computes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special  # scipy.stats's own kernels, without its 1 s import

from botify.errors import ConfigError

__all__ = ["RELATIVE_INTERVALS", "RelativeEffect", "TTestResult", "relative_effect", "welch_df", "welch_ttest"]

RELATIVE_INTERVALS = ("scaled", "delta")
"""How a relative effect's interval is made: the absolute interval over the control mean, or the delta method."""

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
    df = float(welch_df(vt, vc, len(t), len(c))) if se > 0 else float("nan")
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


def welch_df(vt: npt.ArrayLike, vc: npt.ArrayLike, n_t: npt.ArrayLike, n_c: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Welch-Satterthwaite degrees of freedom from each arm's variance of its mean (``s^2 / n``) and size."""
    vt, vc = np.asarray(vt, dtype=np.float64), np.asarray(vc, dtype=np.float64)
    df: npt.NDArray[np.float64] = (vt + vc) ** 2 / (vt**2 / (np.asarray(n_t) - 1) + vc**2 / (np.asarray(n_c) - 1))
    return df


@dataclass(frozen=True)
class RelativeEffect:
    """``100 (mean_t / mean_c - 1)`` with its interval, in %."""

    effect: float
    lower: float
    upper: float


def relative_effect(treatment: npt.ArrayLike, control: npt.ArrayLike, *, alpha: float = 0.05,
                    interval: str = "scaled", welch: TTestResult | None = None) -> RelativeEffect:
    r"""The relative effect in % and its two-sided interval, made as ``interval`` says.

    ``welch``: the two-sided ``welch_ttest`` of the same arrays at the same ``alpha``, if the caller has it.

    Notes
    -----
    ``scaled`` (the reference notebook's, tea-tasting's and spotify-confidence's default): Welch's interval of the
    difference divided by the control mean, as if that mean were known exactly. ``delta``: the delta method on
    :math:`r = \bar t / \bar c - 1`, which also counts the control mean's error,
    :math:`\mathrm{Var}(r) \approx V_t / \bar c^2 + \bar t^2 V_c / \bar c^4` with
    :math:`V = s^2 / n` per arm, and the interval :math:`r \pm t_{1-\alpha/2,\nu} \sqrt{\mathrm{Var}(r)}` with
    Welch's :math:`\nu` (gbstats' ``relative`` uses the same variance). The two agree for small effects; at large
    effects ``scaled`` is narrower than the control mean's error allows.

    Examples
    --------
    >>> t, c = [2.1, 2.5, 1.9, 2.8, 2.4], [1.8, 2.0, 1.7, 2.2, 1.9, 2.1]
    >>> scaled, delta = relative_effect(t, c), relative_effect(t, c, interval="delta")
    >>> round(scaled.effect, 2), round(scaled.lower, 2), round(delta.lower, 2), round(delta.upper, 2)
    (20.0, -2.02, -2.93, 42.93)
    """
    if interval not in RELATIVE_INTERVALS:
        raise ConfigError(f"`interval` must be one of {list(RELATIVE_INTERVALS)}, got {interval!r}")
    t = np.asarray(treatment, dtype=np.float64)
    c = np.asarray(control, dtype=np.float64)
    result = welch if welch is not None else welch_ttest(t, c, alpha=alpha)
    base = float(c.mean()) if len(c) else float("nan")
    if not base or not np.isfinite(result.estimate):
        nan = float("nan")
        return RelativeEffect(nan, nan, nan)
    effect = 100 * result.estimate / base
    if interval == "scaled":
        return RelativeEffect(effect, 100 * result.ci_low / base, 100 * result.ci_high / base)
    variance = t.var(ddof=1) / len(t) / base**2 + t.mean() ** 2 * c.var(ddof=1) / len(c) / base**4
    half = 100 * float(special.stdtrit(result.df, 1 - alpha / 2)) * float(np.sqrt(variance))  # Welch's df, as scaled
    return RelativeEffect(effect, effect - half, effect + half)
