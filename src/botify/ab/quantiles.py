r"""Quantile metrics with users as the unit: the median and p90 of session time, the p99 of request latency.

A quantile is taken over all of an arm's observations (sessions or requests), but the observations of one user
are correlated, so the interval must treat users, not observations, as independent. The method is the one of
Deng, Knoblich & Lu, "Applying the delta method in metric analytics" (KDD 2018, section 4.2), which needs no
density estimate:

1. :math:`\hat Q` is the empirical :math:`p`-quantile of the observations;
2. :math:`\hat F(\hat Q) = \sum_i S_i / \sum_i N_i`, where user :math:`i` has :math:`N_i` observations of which
   :math:`S_i` are at most :math:`\hat Q`, is a ratio of per-user sums: its variance :math:`\sigma^2` comes from
   the delta method for ratios (``botify.ab.ratio.ratio_with_variance``);
3. the interval is :math:`[\hat Q(p - z\sigma), \hat Q(p + z\sigma)]` (the empirical quantiles at those levels),
   and the standard error of :math:`\hat Q` is its width over :math:`2z`.

Two arms are compared on the difference of their quantiles, :math:`\hat Q_t - \hat Q_c`, with standard error
:math:`\sqrt{se_t^2 + se_c^2}` and a normal interval; the effect is in % of the control's quantile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy import special

from botify.ab.ratio import ratio_with_variance
from botify.ab.table import Comparison
from botify.errors import ConfigError
from botify.experiments import arm_name

__all__ = ["QUANTILE_METRICS", "ArrayObservations", "Observations", "QuantileDifference", "QuantileEstimate",
           "arm_interval", "compare_quantiles", "quantile_difference", "quantile_interval"]

QUANTILE_METRICS: dict[str, tuple[str, float]] = {
    "median_session_time": ("session time", 0.5),
    "p90_session_time": ("session time", 0.9),
    "p99_request_latency": ("request latency (ms)", 0.99),
}
"""Each quantile metric: what it is a quantile of, and the level."""


@dataclass(frozen=True)
class QuantileEstimate:
    """One arm's quantile, its interval and standard error."""

    estimate: float
    lower: float
    upper: float
    standard_error: float
    users: int


def quantile_interval(values: npt.ArrayLike, unit: npt.ArrayLike, level: float, *,
                      alpha: float = 0.05) -> QuantileEstimate:
    """The ``level``-quantile of ``values`` and its interval, ``unit`` (the user of each value) as the unit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> users = np.repeat(np.arange(400), 5)
    >>> values = rng.normal(size=400)[users] + rng.normal(size=2000)
    >>> q = quantile_interval(values, users, 0.5)
    >>> bool(q.lower < 0.0 < q.upper), q.users
    (True, 400)
    """
    return arm_interval(ArrayObservations(unit, np.zeros(np.shape(unit), np.int64), values), 0, level, alpha=alpha)


class Observations(Protocol):
    """What a quantile metric is taken over, arm by arm: observations, each with the user it belongs to.

    In memory (``ArrayObservations``) or in a database (the bounded analysis keeps request latencies in DuckDB).
    """

    def arms(self) -> list[int]:
        """The arms that have observations."""
        ...

    def users(self, arm: int) -> int:
        """How many users have observations in the arm."""
        ...

    def quantile(self, arm: int, level: float) -> float:
        """The empirical ``level``-quantile of the arm's observations (linear interpolation, as ``np.quantile``)."""
        ...

    def counts(self, arm: int, threshold: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per user with observations in the arm, in user order: how many are at most ``threshold``, and all."""
        ...


def arm_interval(observations: Observations, arm: int, level: float, *, alpha: float = 0.05) -> QuantileEstimate:
    """One arm's ``level``-quantile and its interval (the module docstring's steps 1 to 3)."""
    if not 0 < level < 1:
        raise ConfigError(f"a quantile's level must be in (0, 1), got {level}")
    users = observations.users(arm)
    if users < 2:
        nan = float("nan")
        return QuantileEstimate(nan, nan, nan, nan, users)
    estimate = observations.quantile(arm, level)
    below, total = observations.counts(arm, estimate)
    _, variance = ratio_with_variance(below, total)
    z = float(special.ndtri(1 - alpha / 2))
    spread = z * np.sqrt(max(variance, 0.0))
    lower = observations.quantile(arm, max(level - spread, 0.0))
    upper = observations.quantile(arm, min(level + spread, 1.0))
    return QuantileEstimate(estimate, lower, upper, (upper - lower) / (2 * z), users)


class ArrayObservations:
    """Observations as ``(user, arm, value)`` arrays, one entry each."""

    def __init__(self, user: npt.ArrayLike, arm: npt.ArrayLike, value: npt.ArrayLike) -> None:
        self.user, self.arm = np.asarray(user), np.asarray(arm)
        self.value = np.asarray(value, dtype=np.float64)
        if not self.value.shape == self.user.shape == self.arm.shape:
            raise ConfigError(f"`values` and `unit` must have one entry each, got {self.value.shape} and "
                              f"{self.user.shape}")
        self._cached: tuple[int, npt.NDArray[np.float64], npt.NDArray[Any], npt.NDArray[np.float64]] | None = None

    def _of(self, arm: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any], npt.NDArray[np.float64]]:
        """The arm's values, each one's row among the arm's users, and each row's count (cached for the last arm)."""
        if self._cached is None or self._cached[0] != arm:
            chosen = self.arm == arm
            values, ids = (self.value, self.user) if chosen.all() else (self.value[chosen], self.user[chosen])
            if len(ids) and ids.dtype.kind in "iu" and ids.min() >= 0 and ids.max() < 4 * len(ids) + 1_000_000:
                row = ids  # small non-negative ids index the per-user sums directly (no sort)
            else:
                row = np.unique(ids, return_inverse=True)[1].reshape(-1)
            self._cached = (arm, values, row, np.bincount(row).astype(np.float64))
        return self._cached[1], self._cached[2], self._cached[3]

    def arms(self) -> list[int]:
        """The arms that have observations."""
        return sorted(set(np.unique(self.arm).tolist()))

    def users(self, arm: int) -> int:
        """Users with values in the arm."""
        return int(np.count_nonzero(self._of(arm)[2]))

    def quantile(self, arm: int, level: float) -> float:
        """``np.quantile`` of the arm's values."""
        return float(np.quantile(self._of(arm)[0], level))

    def counts(self, arm: int, threshold: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per user, values at most ``threshold`` and all values."""
        values, row, total = self._of(arm)
        present = total > 0
        below = np.asarray(np.bincount(row, weights=(values <= threshold).astype(np.float64), minlength=len(total)),
                           dtype=np.float64)
        return below[present], total[present]


@dataclass(frozen=True)
class QuantileDifference:
    """Treatment's quantile minus control's, with a normal interval; ``effect`` etc. in % of the control's."""

    control: QuantileEstimate
    treatment: QuantileEstimate
    difference: float
    lower_difference: float
    upper_difference: float
    effect: float
    lower: float
    upper: float
    pvalue: float


def quantile_difference(values_t: npt.ArrayLike, unit_t: npt.ArrayLike, values_c: npt.ArrayLike,
                        unit_c: npt.ArrayLike, level: float, *, alpha: float = 0.05) -> QuantileDifference:
    """Compare two arms' ``level``-quantiles (see the module docstring)."""
    return _difference(quantile_interval(values_t, unit_t, level, alpha=alpha),
                       quantile_interval(values_c, unit_c, level, alpha=alpha), alpha)


def _difference(t: QuantileEstimate, c: QuantileEstimate, alpha: float) -> QuantileDifference:
    difference = t.estimate - c.estimate
    se = float(np.hypot(t.standard_error, c.standard_error))
    half = float(special.ndtri(1 - alpha / 2)) * se
    if not np.isfinite(difference):
        pvalue = float("nan")
    elif se > 0:
        pvalue = float(2 * special.ndtr(-abs(difference) / se))
    else:  # both quantiles sit on atoms of their distributions: only their equality is known
        pvalue = 1.0 if difference == 0 else 0.0
    scale = 100 / c.estimate if c.estimate else float("nan")
    return QuantileDifference(c, t, difference, difference - half, difference + half, difference * scale,
                              (difference - half) * scale, (difference + half) * scale, pvalue)


def compare_quantiles(observations: dict[str, Observations], *, control: int = 0,
                      alpha: float = 0.05) -> list[Comparison]:
    """Every treatment against ``control`` on each metric of ``QUANTILE_METRICS``, as rows of the table.

    ``observations`` maps what a quantile is taken of (``QUANTILE_METRICS``' first field: ``"session time"``,
    ``"request latency (ms)"``) to its observations (``ArrayObservations`` for ``(user, arm, value)`` arrays).
    """
    rows: list[Comparison] = []
    arms = sorted(set().union(*(set(source.arms()) for source in observations.values())))
    for arm in arms:
        if arm == control:
            continue
        for name, (source, level) in QUANTILE_METRICS.items():
            seen = observations[source]
            result = _difference(arm_interval(seen, arm, level, alpha=alpha),
                                 arm_interval(seen, control, level, alpha=alpha), alpha)
            rows.append(Comparison(arm_name(arm), arm_name(control), name, result.control.estimate,
                                   result.treatment.estimate, result.effect, result.lower, result.upper,
                                   result.pvalue, bool(result.lower_difference > 0 or result.upper_difference < 0),
                                   result.control.users, result.treatment.users))
    return rows
