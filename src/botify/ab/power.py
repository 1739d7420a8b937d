"""Power and minimum detectable effect for the per-user Welch comparison (normal approximation)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special  # scipy.stats's own kernels, without its 1 s import

from botify.errors import ConfigError

__all__ = ["PowerPlan", "minimum_detectable_effect", "required_users"]


def _z(alpha: float, power: float) -> float:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ConfigError(f"`alpha` and `power` must be in (0, 1), got {alpha} and {power}")
    return float(special.ndtri(1 - alpha / 2) + special.ndtri(power))


def required_users(sd: float, mean: float, relative_effect: float, *, alpha: float = 0.05,
                   power: float = 0.8) -> int:
    r"""Users per arm to detect a relative effect (e.g. 0.05 = +5 %) with a two-sided test.

    Notes
    -----
    With equal arms and a common per-user standard deviation :math:`\sigma`, the difference
    :math:`\delta = \text{effect} \cdot \mu` is detected with power :math:`1-\beta` at level :math:`\alpha` when
    :math:`n = 2 (z_{1-\alpha/2} + z_{1-\beta})^2 \sigma^2 / \delta^2` users per arm.

    Examples
    --------
    >>> required_users(sd=1.0, mean=2.0, relative_effect=0.05)
    1570
    """
    if relative_effect == 0 or mean == 0:
        raise ConfigError("`relative_effect` and the control mean must be non-zero")
    delta = abs(relative_effect * mean)
    return math.ceil(2 * (_z(alpha, power) * sd / delta) ** 2)


def minimum_detectable_effect(sd: float, mean: float, users_per_arm: int, *, alpha: float = 0.05,
                              power: float = 0.8) -> float:
    r"""Smallest relative effect detectable with ``users_per_arm`` users in each of two arms.

    Notes
    -----
    Inverts ``required_users``: :math:`\text{MDE} = (z_{1-\alpha/2} + z_{1-\beta}) \sigma \sqrt{2/n} / |\mu|`.

    Examples
    --------
    >>> round(minimum_detectable_effect(sd=1.0, mean=2.0, users_per_arm=5000), 4)
    0.028
    """
    if users_per_arm < 2:
        raise ConfigError(f"`users_per_arm` must be >= 2, got {users_per_arm}")
    return _z(alpha, power) * sd * math.sqrt(2 / users_per_arm) / abs(mean)


@dataclass(frozen=True)
class PowerPlan:
    """What a power analysis says for one metric."""

    metric: str
    mean: float
    sd: float
    users_per_arm: int
    mde: float
    effect: float
    needed_per_arm: int

    def describe(self) -> str:
        """A few lines for the terminal."""
        return (f"{self.metric}: control mean {self.mean:.4g}, per-user sd {self.sd:.4g}\n"
                f"with {self.users_per_arm:,} users per arm the minimum detectable effect is {self.mde:+.2%}\n"
                f"to detect {self.effect:+.2%} you need {self.needed_per_arm:,} users per arm")
