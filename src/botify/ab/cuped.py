"""CUPED: variance reduction with a pre-experiment covariate of the same users."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError

__all__ = ["CupedAdjustment", "cuped"]


@dataclass(frozen=True)
class CupedAdjustment:
    """Adjusted values, the coefficient and how much variance the covariate removed."""

    adjusted: npt.NDArray[np.float64]
    theta: float
    variance_reduction: float
    covered: float


def cuped(values: npt.ArrayLike, covariate: npt.ArrayLike, groups: npt.ArrayLike | None = None) -> CupedAdjustment:
    r"""Adjust ``values`` with a pre-period ``covariate`` (NaN where a user has no pre-period data).

    Notes
    -----
    :math:`\theta = \mathrm{cov}(Y, X) / \mathrm{var}(X)` over users with a covariate — one per group (arm) when
    ``groups`` is given, since arms with large effects change the slope — and
    :math:`Y' = Y - \theta (X - \bar X)` with :math:`\bar X` over all users (assignment does not depend on
    :math:`X`, so the adjustment has mean zero in every arm); users without a covariate keep :math:`Y' = Y`.
    ``variance_reduction`` is :math:`1 - \mathrm{var}(Y') / \mathrm{var}(Y)` within the first group (the control)
    (Deng, Xu, Kohavi & Walker, "Improving the sensitivity of online controlled experiments by utilizing
    pre-experiment data", WSDM 2013).

    Examples
    --------
    >>> adjustment = cuped([3.0, 4.1, 5.2, 5.9], covariate=[1.0, 2.0, 3.0, 4.0])
    >>> round(adjustment.theta, 2), adjustment.adjusted.round(2).tolist(), round(adjustment.variance_reduction, 3)
    (0.98, [4.47, 4.59, 4.71, 4.43], 0.99)
    """
    y = np.asarray(values, dtype=np.float64)
    x = np.asarray(covariate, dtype=np.float64)
    g = np.zeros(len(y), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    if x.shape != y.shape or g.shape != y.shape:
        raise ConfigError(f"`covariate` and `groups` must have one value per user ({y.shape}), got {x.shape}")
    known = ~np.isnan(x)
    adjusted = y.copy()
    if known.sum() < 3:
        return CupedAdjustment(adjusted, 0.0, 0.0, float(known.mean()) if len(x) else 0.0)
    centre = x[known].mean()
    thetas = []
    for group in np.unique(g):
        rows = known & (g == group)
        if rows.sum() < 3 or np.var(x[rows]) == 0:
            continue
        theta = float(np.cov(y[rows], x[rows], ddof=1)[0, 1] / np.var(x[rows], ddof=1))
        adjusted[rows] = y[rows] - theta * (x[rows] - centre)
        thetas.append(theta)
    first = g == g.min()
    reduction = 1 - float(np.var(adjusted[first], ddof=1) / np.var(y[first], ddof=1)) if first.sum() > 1 else 0.0
    return CupedAdjustment(adjusted, thetas[0] if thetas else 0.0, reduction, float(known.mean()))
