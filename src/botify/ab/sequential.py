r"""Sequential tests: look at a running experiment as often as you like and keep the error rate you asked for.

At look :math:`k` the two arms' users so far give the difference of means :math:`\hat\theta_k` (treatment −
control) and its variance :math:`V_k = s_t^2/n_t + s_c^2/n_c`. Each method turns the looks into intervals and
p-values that hold at every look at once, and says at which look a treatment would stop (the first whose interval
excludes 0):

- ``gst``, a group-sequential test with Lan-DeMets alpha spending (O'Brien-Fleming type by default, or the power
  family :math:`\alpha t^\rho`). Its information fraction is statistical, :math:`t_k = V_K / V_k` with
  :math:`V_K` the planned end's variance (the last look's, when the experiment ran to plan), or, given a planned
  maximum sample :math:`N_{max}`, :math:`t_k = n_k / N_{max}`. The second assumes each look adds users whose values
  do not change; when a user's metric keeps changing (mean time per session over a user's sessions so far) the
  looks are less correlated than :math:`\sqrt{n_j/n_k}`, and in the peeking study it let 8.3 % of A/A runs stop
  at α = 0.05. The two-sided boundaries :math:`c_k` on :math:`Z_k = \hat\theta_k/\sqrt{V_k}`
  spend :math:`\alpha(t_k) - \alpha(t_{k-1})` at look :math:`k`. They are computed by the recursive numerical
  integration of Armitage, McPherson and Rowe (1969) on the score scale. The interval is the repeated confidence
  interval :math:`\hat\theta_k \pm c_k \sqrt{V_k}` (Jennison & Turnbull, 2000, ch. 9, and ch. 7 on
  information). Most powerful when the maximum is known; looks past it are not covered.
- ``gavi``, the normal-mixture confidence sequence of Howard, Ramdas, McAuliffe & Sekhon (2021, eq. 14), as Eppo and
  GrowthBook use it. Its mixing parameter is tuned so that the interval is narrowest at a planned sample
  :math:`N^*`: :math:`\rho^2 = (-2\ln\alpha + \ln(1 - 2\ln\alpha)) / N^*`. With :math:`N = n_t + n_c` and
  :math:`\sigma^2 = N V`, the half-width is
  :math:`\sigma \sqrt{2 (N\rho^2 + 1) / (N^2 \rho^2) \cdot \ln(\sqrt{N\rho^2 + 1}/\alpha)}`. Valid at any number of
  looks, with no maximum.
- ``msprt``, the mixture sequential probability ratio test of Johari, Pekelis & Walsh (2017), as Optimizely uses
  it, with a normal mixing distribution of variance :math:`\tau^2` on the effect:
  :math:`\Lambda_k = \sqrt{V_k/(V_k+\tau^2)} \exp(\tau^2 \hat\theta_k^2 / (2 V_k (V_k + \tau^2)))`. The always-valid
  p-value is :math:`\min_{j \le k} \min(1, 1/\Lambda_j)`. The interval is
  :math:`\hat\theta_k \pm \sqrt{V_k (V_k+\tau^2)/\tau^2 \cdot (\ln((V_k+\tau^2)/V_k) - 2\ln\alpha)}`, intersected over
  the looks so far.

All three rest on the difference of means being normal with a known variance at each look (a large-sample
approximation: users are independent, the variance is estimated).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy.optimize import brentq
from scipy.stats import norm

from botify.errors import ConfigError

__all__ = ["METHODS", "Look", "gst_boundaries", "gst_boundaries_correlated", "sequential_looks", "spent_alpha"]

Method = Literal["gst", "gavi", "msprt"]
METHODS: tuple[str, ...] = ("gst", "gavi", "msprt")
FloatArray = npt.NDArray[np.float64]
_GRID = 1201  # points of the integration grid (odd: Simpson's rule); boundaries to ~1e-8


@dataclass(frozen=True)
class Look:
    """One look at one treatment: the difference of means with its always-valid interval and p-value."""

    look: int
    users: int
    estimate: float
    lower: float
    upper: float
    pvalue: float
    stopped: bool  # this look or an earlier one crossed (the interval excluded 0)


def spent_alpha(t: npt.ArrayLike, alpha: float, spending: str = "obf") -> FloatArray:
    r"""Two-sided alpha spent by information fraction ``t``, each side spending half.

    ``obf``: Lan & DeMets' O'Brien-Fleming type, per side :math:`2 - 2\Phi(z_{1-\alpha/4}/\sqrt t)` (the convention
    of ldbounds and gsDesign); ``power:RHO``: :math:`\alpha t^\rho`.
    """
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    if spending == "obf":
        with np.errstate(divide="ignore"):
            spent: FloatArray = 4 * norm.sf(norm.isf(alpha / 4) / np.sqrt(t))
        return spent
    if spending.startswith("power:"):
        return alpha * t ** float(spending.split(":", 1)[1])
    raise ConfigError(f"`spending` must be 'obf' or 'power:RHO', got {spending!r}")


def _simpson(points: int, width: float) -> FloatArray:
    weights = np.ones(points)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return weights * width / (3 * (points - 1))


def gst_boundaries(t: npt.ArrayLike, alpha: float = 0.05, spending: str = "obf") -> FloatArray:
    """Two-sided boundaries ``c_k`` on the z scale for looks at information fractions ``t`` (increasing, in (0, 1]).

    Examples
    --------
    >>> gst_boundaries([0.2, 0.4, 0.6, 0.8, 1.0]).round(3).tolist()  # O'Brien-Fleming type, 5 equal looks
    [4.877, 3.357, 2.68, 2.29, 2.031]
    """
    return np.array(_gst_boundaries(tuple(np.asarray(t, dtype=np.float64).ravel().tolist()), alpha, spending))


@functools.lru_cache(maxsize=256)
def _gst_boundaries(t_values: tuple[float, ...], alpha: float, spending: str) -> tuple[float, ...]:
    """``gst_boundaries`` for hashable looks (the boundaries of a plan are computed once)."""
    t = np.asarray(t_values, dtype=np.float64)
    if t.ndim != 1 or not len(t) or t[0] <= 0 or t[-1] > 1 + 1e-12 or (np.diff(t) <= 0).any():
        raise ConfigError(f"information fractions must increase within (0, 1], got {t.tolist()}")
    spent = spent_alpha(t, alpha, spending)
    bounds = np.empty(len(t))
    grid: FloatArray | None = None
    density: FloatArray | None = None
    previous = 0.0
    for k, (now, target) in enumerate(zip(t.tolist(), np.diff(np.r_[0.0, spent]).tolist(), strict=True)):
        step = now - previous
        if grid is None:  # the first look: S_1 ~ N(0, t_1)
            bounds[k] = norm.isf(target / 2)
            b = bounds[k] * np.sqrt(now)
        else:
            assert density is not None
            mass = density * _simpson(len(grid), grid[-1] - grid[0])

            def crossing(b: float, grid: FloatArray = grid, mass: FloatArray = mass, step: float = step) -> float:
                scale = np.sqrt(step)
                return float(mass @ (special.ndtr((-b - grid) / scale) + special.ndtr((grid - b) / scale)))

            if target <= 0:
                b = np.inf
            else:
                b = brentq(lambda b, target=target: crossing(b) - target, 1e-6, 40.0, xtol=1e-12)
            bounds[k] = b / np.sqrt(now)
        if np.isfinite(b):
            new_grid = np.linspace(-b, b, _GRID)
        else:
            new_grid = np.linspace(-12 * np.sqrt(now), 12 * np.sqrt(now), _GRID)
        if grid is None:
            density = norm.pdf(new_grid, scale=np.sqrt(now))
        else:
            assert density is not None
            kernel = np.exp(-0.5 / step * np.square(new_grid[:, None] - grid[None, :])) / np.sqrt(2 * np.pi * step)
            density = kernel @ (density * _simpson(len(grid), grid[-1] - grid[0]))
        grid, previous = new_grid, now
    return tuple(bounds.tolist())


_DRAWS = 200_000
_DRAWS_SEED = 20_231


def gst_boundaries_correlated(t: npt.ArrayLike, correlation: npt.ArrayLike, alpha: float = 0.05,
                              spending: str = "obf", *, draws: int = _DRAWS) -> FloatArray:
    """Two-sided boundaries for looks whose z-statistics have the given ``correlation`` (any, not only Brownian).

    The spending is the same as ``gst_boundaries``'; the crossing probabilities are those of ``draws`` seeded
    normal vectors with that correlation: look ``k``'s boundary leaves exactly its share of α to the draws that had
    not crossed before (accuracy about ``sqrt(α / draws)``, 5e-4 at the default; the same draws every call). A look
    that spends nothing keeps the previous boundary.

    Examples
    --------
    >>> t = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    >>> brownian = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    >>> gst_boundaries_correlated(t, brownian).round(2).tolist()  # the integration's 4.88, 3.36, 2.68, 2.29, 2.03
    [5.09, 3.35, 2.67, 2.29, 2.03]

    The first look spends 1e-6 of α, less than one draw in 200,000: its boundary is the largest draw instead.
    """
    t = np.asarray(t, dtype=np.float64)
    matrix = np.asarray(correlation, dtype=np.float64)
    if matrix.shape != (len(t), len(t)) or not np.all(np.isfinite(matrix)):
        raise ConfigError(f"`correlation` must be a finite {len(t)} x {len(t)} matrix")
    spent = np.diff(np.r_[0.0, spent_alpha(t, alpha, spending)])
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)  # a square root that tolerates a singular estimate
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    z = np.abs(_normal_draws(draws, len(t)) @ root.T)
    alive = np.ones(draws, dtype=np.bool_)
    bounds = np.empty(len(t))
    for k in range(len(t)):
        survivors = z[alive, k]
        crossing = int(round(spent[k] * draws))
        if spent[k] <= 0:
            bounds[k] = bounds[k - 1] if k else np.inf
        elif crossing >= len(survivors):
            bounds[k] = 0.0
        else:  # the (crossing + 1)-th largest: `crossing` draws lie above it
            bounds[k] = np.partition(survivors, len(survivors) - 1 - crossing)[len(survivors) - 1 - crossing]
        alive &= z[:, k] < bounds[k]
    return bounds


@functools.lru_cache(maxsize=8)
def _normal_draws(draws: int, looks: int) -> FloatArray:
    """The same seeded standard normals for every call of that size (read-only)."""
    out = np.random.default_rng(_DRAWS_SEED).standard_normal((draws, looks))
    out.setflags(write=False)
    return out


def _gavi_halfwidth(variance: FloatArray, users: FloatArray, alpha: float, planned: float) -> FloatArray:
    rho2 = (-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha))) / planned
    sigma2 = users * variance
    inner = 2 * (users * rho2 + 1) / (users**2 * rho2) * np.log(np.sqrt(users * rho2 + 1) / alpha)
    halfwidth: FloatArray = np.sqrt(sigma2 * inner)
    return halfwidth


def _gavi_pvalue(estimate: float, variance: float, users: float, planned: float) -> float:
    """The smallest α whose GAVI interval excludes 0 at this look (1 if none does)."""
    def excludes(alpha: float) -> float:
        return abs(estimate) - float(_gavi_halfwidth(np.array([variance]), np.array([users]), alpha, planned)[0])

    if excludes(1 - 1e-12) <= 0:
        return 1.0
    if excludes(1e-300) > 0:
        return 0.0
    return float(brentq(excludes, 1e-300, 1 - 1e-12, xtol=1e-15, rtol=1e-12))


def sequential_looks(method: str, users_t: npt.ArrayLike, mean_t: npt.ArrayLike, var_t: npt.ArrayLike,
                     users_c: npt.ArrayLike, mean_c: npt.ArrayLike, var_c: npt.ArrayLike, *, alpha: float = 0.05,
                     max_users: float | None = None, spending: str = "obf", tau: float | None = None,
                     correlation: npt.ArrayLike | None = None) -> list[Look]:
    """Every look of one treatment against the control by ``method`` (see the module docstring).

    Arrays hold each arm's users, mean and variance (``ddof=1``) of the metric at each look, in time order.
    ``max_users`` is GST's planned maximum, in users, and GAVI's planned sample (default: the last look's users).
    Without it, GST's information fraction is statistical, :math:`V_K / V_k`, the last look's variance taken as the
    plan's: the right one when a user's metric changes from look to look (see the module docstring);
    ``tau`` is mSPRT's mixing standard deviation on the effect (default: 10 % of the first look's pooled standard
    deviation). ``correlation`` (looks × looks, of the z-statistics) makes GST's boundaries those of that correlation
    (``gst_boundaries_correlated``) instead of the independent-increment one; ``botify.ab.looks`` estimates it from
    the users present at both looks.
    """
    if method not in METHODS:
        raise ConfigError(f"`method` must be one of {METHODS}, got {method!r}")
    n_t, n_c = np.asarray(users_t, dtype=np.float64), np.asarray(users_c, dtype=np.float64)
    estimate = np.asarray(mean_t, dtype=np.float64) - np.asarray(mean_c, dtype=np.float64)
    variance = np.asarray(var_t, dtype=np.float64) / n_t + np.asarray(var_c, dtype=np.float64) / n_c
    users = n_t + n_c
    if len(users) == 0 or (np.diff(users) < 0).any():
        raise ConfigError("looks must be in time order: the users so far never decrease")
    standard_error = np.sqrt(variance)
    if method == "gst":
        if max_users is not None:
            fractions = np.minimum(users / max_users, 1.0)
        else:  # statistical information 1/V, the last look's taken as the plan's maximum
            fractions = np.minimum(np.maximum.accumulate(variance[-1] / variance), 1.0)
        # a look that adds no information (the same users, or past the planned maximum) spends nothing: it keeps
        # the boundary of the last look that did
        keep = np.r_[True, np.diff(fractions) > 0]
        if correlation is None:
            bounds = gst_boundaries(fractions[keep], alpha, spending)[np.cumsum(keep) - 1]
        else:
            matrix = np.asarray(correlation, dtype=np.float64)
            bounds = gst_boundaries_correlated(fractions[keep], matrix[np.ix_(keep, keep)], alpha,
                                               spending)[np.cumsum(keep) - 1]
        halfwidth = bounds * standard_error
        z = np.abs(estimate) / standard_error
        pvalue = np.minimum.accumulate(np.where(z >= bounds, alpha, 1.0))  # a crossing is significant at α
        lower, upper = estimate - halfwidth, estimate + halfwidth
    elif method == "gavi":
        planned = float(max_users if max_users is not None else users[-1])
        halfwidth = _gavi_halfwidth(variance, users, alpha, planned)
        lower = np.maximum.accumulate(estimate - halfwidth)
        upper = np.minimum.accumulate(estimate + halfwidth)
        pvalue = np.minimum.accumulate([_gavi_pvalue(e, v, n, planned) for e, v, n in
                                        zip(estimate.tolist(), variance.tolist(), users.tolist(), strict=True)])
    else:
        if tau is None:
            pooled = np.sqrt((np.asarray(var_t)[0] + np.asarray(var_c)[0]) / 2)
            tau = 0.1 * float(pooled)
        if not tau > 0:
            raise ConfigError(f"mSPRT's `tau` must be > 0, got {tau}")
        tau2 = tau * tau
        log_ratio = 0.5 * np.log(variance / (variance + tau2)) + tau2 * estimate**2 / (2 * variance * (variance + tau2))
        pvalue = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_ratio)))
        halfwidth = np.sqrt(variance * (variance + tau2) / tau2 * (np.log((variance + tau2) / variance)
                                                                   - 2 * np.log(alpha)))
        lower = np.maximum.accumulate(estimate - halfwidth)
        upper = np.minimum.accumulate(estimate + halfwidth)
    crossed = np.logical_or.accumulate((lower > 0) | (upper < 0))
    columns = zip(users.tolist(), estimate.tolist(), lower.tolist(), upper.tolist(), np.asarray(pvalue).tolist(),
                  crossed.tolist(), strict=True)
    return [Look(k, int(n), float(e), float(lo), float(hi), float(p), bool(c))
            for k, (n, e, lo, hi, p, c) in enumerate(columns)]
