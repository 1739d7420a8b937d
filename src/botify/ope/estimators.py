"""Off-policy estimators: the value of a target policy from logs of another (the logging policy).

Per decision ``i`` the logs hold the reward ``r_i`` (the listened fraction of the recommended track), the logging
policy's probability of the logged track ``p_i = π0(a_i | x_i)`` (the service's ``propensity`` field) and,
computed offline for the target, ``π(a_i | x_i)``; ``w_i = π(a_i | x_i) / p_i``.

* IPS: ``mean(w · r)``; SNIPS: ``Σ w r / Σ w``;
* DM (direct method): ``mean(v̂_i)`` with ``v̂_i = Σ_a π(a | x_i) q̂(x_i, a)``, ``q̂`` a reward model;
* DR (doubly robust): ``mean(v̂_i + w_i (r_i − q̂(x_i, a_i)))``.

These are the definitions of Open Bandit Pipeline's ``InverseProbabilityWeighting``,
``SelfNormalizedInverseProbabilityWeighting``, ``DirectMethod`` and ``DoublyRobust`` (a test compares them on the
same arrays). For a session's time (1 for the first track plus every recommendation's listened fraction), the
session-level variants weight each step by the product of the ratios so far: per-decision importance sampling
``1 + Σ_t (Π_{s≤t} w_s) r_t`` and its self-normalised form. Intervals come from a seeded percentile bootstrap
over decisions (over sessions for the session-level estimators).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError
from botify.world.seeding import make_rng

__all__ = ["Estimate", "Logged", "dm", "dr", "estimate_all", "ips", "session_pdis", "session_snpdis", "snips"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Logged:
    """Logged decisions with what a target policy says of them, row by row.

    ``session`` (ids, rows of a session contiguous and in step order) is needed for the session-level estimators;
    ``q_logged`` (``q̂(x_i, a_i)``) and ``dm_value`` (``Σ_a π(a|x_i) q̂(x_i, a)``) for DM and DR.
    """

    reward: FloatArray
    propensity: FloatArray
    target_probability: FloatArray
    session: npt.NDArray[np.int64] | None = None
    q_logged: FloatArray | None = None
    dm_value: FloatArray | None = None

    def __post_init__(self) -> None:
        n = len(self.reward)
        for name in ("propensity", "target_probability", "session", "q_logged", "dm_value"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ConfigError(f"`{name}` has {len(column)} rows, `reward` has {n}")
        if n and not (self.propensity > 0).all():
            raise ConfigError("every logged propensity must be > 0 (the logging policy chose the track)")

    @property
    def weight(self) -> FloatArray:
        """``π(a_i | x_i) / π0(a_i | x_i)``."""
        ratio: FloatArray = self.target_probability / self.propensity
        return ratio

    def take(self, rows: npt.NDArray[np.int64]) -> Logged:
        """The given rows."""
        def part(column: npt.NDArray[np.generic] | None) -> npt.NDArray[np.generic] | None:
            return None if column is None else column[rows]

        return Logged(self.reward[rows], self.propensity[rows], self.target_probability[rows],
                      part(self.session), part(self.q_logged), part(self.dm_value))  # type: ignore[arg-type]


def ips(logged: Logged) -> float:
    """Inverse propensity scoring: ``mean(w r)``."""
    return float(np.mean(logged.weight * logged.reward))


def snips(logged: Logged) -> float:
    """Self-normalised IPS: ``Σ w r / Σ w`` (NaN when no logged track has target probability)."""
    total = float(logged.weight.sum())
    return float((logged.weight * logged.reward).sum() / total) if total > 0 else float("nan")


def dm(logged: Logged) -> float:
    """Direct method: the reward model's value of the target, ``mean(v̂)``."""
    if logged.dm_value is None:
        raise ConfigError("DM needs `dm_value` (the reward model's value of the target at each context)")
    return float(np.mean(logged.dm_value))


def dr(logged: Logged) -> float:
    """Doubly robust: ``mean(v̂ + w (r − q̂(x, a)))``."""
    if logged.dm_value is None or logged.q_logged is None:
        raise ConfigError("DR needs `dm_value` and `q_logged` (the reward model at the logged track)")
    return float(np.mean(logged.dm_value + logged.weight * (logged.reward - logged.q_logged)))


def _sessions(logged: Logged) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray]:
    """Each row's session index and step, and ``ρ_t``: the product of the session's weights up to its step."""
    if logged.session is None:
        raise ConfigError("session-level estimators need `session` ids")
    begins = np.flatnonzero(np.r_[True, logged.session[1:] != logged.session[:-1]]) if len(logged.session) else \
        np.zeros(0, np.int64)
    ends = np.r_[begins[1:], len(logged.session)]
    group = np.repeat(np.arange(len(begins)), ends - begins)
    step = np.arange(len(group)) - begins[group]
    # Products within each session, as sums of logs (a zero weight zeroes the rest of its session).
    weight = logged.weight
    zero = weight == 0
    log_weight = np.log(np.where(zero, 1.0, weight))
    cumulative = np.cumsum(log_weight)
    before = np.r_[0.0, cumulative][begins][group]
    zeros_so_far = np.cumsum(zero) - np.r_[0, np.cumsum(zero)][begins][group]
    rho = np.where(zeros_so_far > 0, 0.0, np.exp(cumulative - before))
    return group, step, rho


def session_pdis(logged: Logged) -> float:
    """Per-decision importance sampling of the session time: ``1 + mean_sessions Σ_t ρ_t r_t``."""
    group, _, rho = _sessions(logged)
    return 1.0 + float(np.bincount(group, weights=rho * logged.reward).mean()) if len(group) else float("nan")


def session_snpdis(logged: Logged) -> float:
    """Weighted PDIS: ``1 + Σ_t Σ_i ρ_t^i r_t^i / Σ_i ρ_t^i``.

    A session that ended before step ``t`` stays in the denominator with its last ``ρ`` (it sits in the absorbing
    state, where every ratio is 1 and the reward 0).
    """
    group, step, rho = _sessions(logged)
    if not len(group):
        return float("nan")
    length = np.bincount(group)
    final_rho = rho[np.cumsum(length) - 1]
    horizon = int(length.max())
    alive = np.bincount(step, weights=rho, minlength=horizon)
    ended = np.cumsum(np.bincount(length, weights=final_rho, minlength=horizon + 1))[:horizon]
    denominator = alive + ended
    weighted_reward = np.bincount(step, weights=rho * logged.reward, minlength=horizon)
    reached = denominator > 0
    return 1.0 + float((weighted_reward[reached] / denominator[reached]).sum())


@dataclass(frozen=True)
class Estimate:
    """An estimator's value with a bootstrap interval."""

    estimator: str
    value: float
    lower: float
    upper: float


_PER_DECISION = {"IPS": ips, "SNIPS": snips, "DM": dm, "DR": dr}
_PER_SESSION = {"session PDIS": session_pdis, "session SNPDIS": session_snpdis}


def estimate_all(logged: Logged, *, resamples: int = 200, alpha: float = 0.05, seed: int = 0) -> list[Estimate]:
    """Every estimator the data allows, with percentile-bootstrap intervals (rows, or whole sessions)."""
    rng = make_rng(seed)
    out = []
    available = {name: f for name, f in _PER_DECISION.items()
                 if name in ("IPS", "SNIPS") or logged.dm_value is not None}
    if logged.dm_value is None or logged.q_logged is None:
        available.pop("DR", None)
    n = len(logged.reward)
    for name, estimator in available.items():
        draws = [estimator(logged.take(rng.integers(0, n, n))) for _ in range(resamples)]
        low, high = np.nanquantile(draws, [alpha / 2, 1 - alpha / 2])
        out.append(Estimate(name, estimator(logged), float(low), float(high)))
    if logged.session is not None:
        starts = np.flatnonzero(np.r_[True, logged.session[1:] != logged.session[:-1]])
        ends = np.r_[starts[1:], n]
        for name, estimator in _PER_SESSION.items():
            draws = []
            for _ in range(resamples):
                chosen = rng.integers(0, len(starts), len(starts))
                lengths = ends[chosen] - starts[chosen]
                first = np.cumsum(lengths) - lengths
                rows = np.repeat(starts[chosen] - first, lengths) + np.arange(int(lengths.sum()))
                resampled = logged.take(rows)
                relabelled = np.repeat(np.arange(len(chosen)), lengths)
                draws.append(estimator(Logged(resampled.reward, resampled.propensity, resampled.target_probability,
                                              relabelled)))
            low, high = np.nanquantile(draws, [alpha / 2, 1 - alpha / 2])
            out.append(Estimate(name, estimator(logged), float(low), float(high)))
    return out
