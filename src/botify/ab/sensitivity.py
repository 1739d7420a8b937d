r"""How many users a comparison needs to get the true direction right 95 % of the time: A/B against interleaving.

Users are independent, so a mean over :math:`n` of them is close to normal. The A/B test compares two arms of
:math:`n` users each on their per-user metric: its difference has the true direction with probability
:math:`\Phi(|d| / \sqrt{(\sigma_a^2 + \sigma_b^2)/n})`, which reaches 95 % at
:math:`n = z_{0.95}^2 (\sigma_a^2 + \sigma_b^2) / d^2` per arm, :math:`2n` users in all. Interleaving shows both
recommenders to every user: the mean per-user preference :math:`\mu` (sd :math:`\sigma`) has the sign of
:math:`\mu` with probability :math:`\Phi(\sqrt n |\mu| / \sigma)`, 95 % at :math:`n = z_{0.95}^2 \sigma^2/\mu^2` users.
When interleaving's :math:`\mu` has the other sign than the A/B truth, more users only make it surer of the wrong
answer: it needs infinitely many. ``right_share`` checks the formula by drawing that many users again and again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from botify.world.seeding import make_rng

__all__ = ["Sensitivity", "ab_users_needed", "interleaving_users_needed", "right_share"]

_Z95 = float(special.ndtri(0.95))


def ab_users_needed(difference: float, sd_a: float, sd_b: float) -> float:
    """Users in all (both arms) for the A/B difference to have its sign 95 % of the time."""
    if difference == 0:
        return math.inf
    return 2 * math.ceil(_Z95**2 * (sd_a**2 + sd_b**2) / difference**2)


def interleaving_users_needed(preference: float, sd: float, truth: float) -> float:
    """Users for interleaving's mean preference to have ``truth``'s sign 95 % of the time (inf if it has not)."""
    if preference == 0 or truth == 0 or (preference > 0) != (truth > 0):
        return math.inf
    return math.ceil(_Z95**2 * sd**2 / preference**2)


def right_share(values_a: npt.NDArray[np.float64], values_b: npt.NDArray[np.float64] | None, users: int,
                sign: float, *, draws: int = 400, seed: int = 0) -> float:
    """How often ``users`` drawn with replacement give a mean difference (or mean, for one array) of ``sign``.

    With two arrays, ``users`` are split evenly between them (an A/B test); with ``values_b`` None, the users'
    values are per-user preferences (interleaving).
    """
    rng = make_rng(seed)
    right = 0
    for _ in range(draws):
        if values_b is None:
            estimate = float(values_a[rng.integers(0, len(values_a), users)].mean())
        else:
            half = max(users // 2, 1)
            estimate = float(values_b[rng.integers(0, len(values_b), half)].mean()
                             - values_a[rng.integers(0, len(values_a), half)].mean())
        right += (estimate > 0) == (sign > 0) and estimate != 0
    return right / draws


@dataclass(frozen=True)
class Sensitivity:
    """One pair: the A/B truth and both methods' users needed, with the formula checked by resampling."""

    a: str
    b: str
    ab_effect: float
    """The A/B difference of mean time per session, b − a, in % of a's."""
    ab_z: float
    """Its z-score in the truth runs: below 3 the true direction itself is uncertain."""
    preference: float
    preference_z: float
    ab_users: float
    interleaving_users: float
    ab_right: float
    interleaving_right: float

    @property
    def agrees(self) -> bool:
        """Whether interleaving's preference has the A/B truth's direction."""
        return (self.preference > 0) == (self.ab_effect > 0)

    @property
    def ratio(self) -> float:
        """A/B's users over interleaving's (how many times fewer users interleaving needs)."""
        if math.isinf(self.interleaving_users):
            return 0.0
        return self.ab_users / self.interleaving_users
