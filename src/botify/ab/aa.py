"""A/A tests: re-split one arm's users by random salts (the reference rule) and count false positives."""

from __future__ import annotations

from dataclasses import dataclass

import mmh3
import numpy as np
import numpy.typing as npt

from botify.ab.stats import welch_ttest
from botify.errors import ConfigError
from botify.world.seeding import make_rng

__all__ = ["AAResult", "aa_false_positive_rate"]


@dataclass(frozen=True)
class AAResult:
    """How often a Welch test on random halves of the same population called a difference."""

    runs: int
    false_positives: int
    alpha: float
    users: int

    @property
    def rate(self) -> float:
        """False positive rate."""
        return self.false_positives / self.runs

    def describe(self) -> str:
        """One line for the terminal."""
        se = np.sqrt(self.alpha * (1 - self.alpha) / self.runs)
        return (f"A/A: {self.false_positives} of {self.runs} random splits of {self.users:,} users were significant "
                f"at alpha = {self.alpha}: false positive rate {self.rate:.2%} (expected {self.alpha:.0%} ± "
                f"{2 * se:.1%})")


def aa_false_positive_rate(users: npt.ArrayLike, values: npt.ArrayLike, *, runs: int = 1000, alpha: float = 0.05,
                           seed: int = 0) -> AAResult:
    """Split ``users`` in two by ``mmh3(str(user), salt) % 2`` for ``runs`` random salts; Welch-test ``values``."""
    users = np.asarray(users, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if users.shape != values.shape or len(users) < 4:
        raise ConfigError(f"`users` and `values` must be equal-length with at least 4 users, got {users.shape}")
    if runs < 1:
        raise ConfigError(f"`runs` must be >= 1, got {runs}")
    salts = make_rng(seed).integers(0, 2**32, size=runs)
    names = [str(u) for u in users.tolist()]
    false_positives = 0
    for salt in salts.tolist():
        arm = np.fromiter((mmh3.hash(name, salt, signed=False) & 1 for name in names), dtype=np.int64,
                          count=len(names))
        result = welch_ttest(values[arm == 1], values[arm == 0], alpha=alpha)
        false_positives += bool(result.ci_low > 0 or result.ci_high < 0)
    return AAResult(runs, false_positives, alpha, len(users))
