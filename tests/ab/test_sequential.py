"""Sequential tests against published boundaries, a peer implementation and their defining integrals."""

from __future__ import annotations

import numpy as np
import pytest
from gsdesign import h1, hupdate
from scipy.integrate import quad
from scipy.stats import norm

from botify.ab.sequential import gst_boundaries, gst_boundaries_correlated, sequential_looks, spent_alpha
from botify.errors import ConfigError

LOOKS = [[0.2, 0.4, 0.6, 0.8, 1.0], [0.1, 0.25, 0.5, 0.9, 1.0], (np.arange(1, 15) / 14).tolist()]


def gsdesign_crossings(bounds: np.ndarray, t: list[float], r: int = 18) -> np.ndarray:
    """Each look's two-sided crossing probability under the null, by gsDesign's recursive integration."""
    crossings = [2 * float(h1(r, 0.0, t[0], bounds[0], np.inf)[2].sum())]
    previous = h1(r, 0.0, t[0], -bounds[0], bounds[0])
    for k in range(1, len(t)):
        crossings.append(2 * float(hupdate(r, 0.0, t[k], bounds[k], np.inf, 0.0, t[k - 1], previous)[2].sum()))
        previous = hupdate(r, 0.0, t[k], -bounds[k], bounds[k], 0.0, t[k - 1], previous)
    return np.array(crossings)


class TestGroupSequential:
    def test_the_published_obrien_fleming_type_boundaries(self) -> None:
        # Lan-DeMets O'Brien-Fleming type, 5 equally spaced looks, two-sided alpha 0.05 (ldbounds, gsDesign)
        assert gst_boundaries(LOOKS[0]).round(4).tolist() == [4.8769, 3.357, 2.6803, 2.2898, 2.031]

    @pytest.mark.parametrize("spending", ["obf", "power:1", "power:2", "power:3"])
    @pytest.mark.parametrize("t", LOOKS, ids=["5 equal", "5 unequal", "14 daily"])
    def test_each_look_spends_its_alpha_by_gsdesigns_integration(self, t: list[float], spending: str) -> None:
        bounds = gst_boundaries(t, 0.05, spending)
        target = np.diff(np.r_[0.0, spent_alpha(t, 0.05, spending)])
        assert np.abs(gsdesign_crossings(bounds, t) - target).max() < 1e-6

    def test_a_look_past_the_planned_maximum_keeps_the_last_boundary(self) -> None:
        users = [150, 300, 450, 600, 750]  # per arm; the plan: 600 users in all, reached at the second look
        looks = sequential_looks("gst", users, [0.3] * 5, [1.0] * 5, users, [0.0] * 5, [1.0] * 5, max_users=600)
        bounds = [(look.upper - look.estimate) / np.sqrt(2 / n) for look, n in zip(looks, users, strict=True)]
        expected = gst_boundaries([0.5, 1.0])
        assert bounds == pytest.approx([expected[0], expected[1], expected[1], expected[1], expected[1]])

    def test_bad_fractions_are_refused(self) -> None:
        with pytest.raises(ConfigError, match="must increase within"):
            gst_boundaries([0.5, 0.4])


class TestMixtures:
    def test_msprt_is_the_mixture_likelihood_ratio_and_its_interval_its_level_set(self) -> None:
        estimate, variance, tau, alpha = 0.3, 0.04, 0.5, 0.05

        def ratio(theta0: float) -> float:  # ∫ N(θ̂; θ, V) N(θ; θ0, τ²) dθ / N(θ̂; θ0, V)
            value = quad(lambda theta: norm.pdf(estimate, theta, np.sqrt(variance)) * norm.pdf(theta, theta0, tau),
                         -10, 10, epsabs=1e-13, epsrel=1e-12)[0]
            return float(value / norm.pdf(estimate, theta0, np.sqrt(variance)))

        look = sequential_looks("msprt", [100], [estimate], [2.0], [100], [0.0], [2.0], alpha=alpha, tau=tau)[0]
        assert look.pvalue == pytest.approx(min(1.0, 1 / ratio(0.0)), rel=1e-9)
        for end in (look.lower, look.upper):
            assert ratio(end) == pytest.approx(1 / alpha, rel=1e-6)

    def test_gavi_is_howards_normal_mixture_boundary(self) -> None:
        # half-width h at N users: the mixture martingale of the sum S = N h reaches 1/alpha exactly
        users, sd, alpha, planned = 800, 1.3, 0.05, 2000
        look = sequential_looks("gavi", [users / 2], [0.0], [sd**2], [users / 2], [0.0], [sd**2], alpha=alpha,
                                max_users=planned)[0]
        half = look.upper
        rho2 = (-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha))) / planned
        sigma2 = users * (sd**2 / (users / 2) * 2)  # N × Var(difference of means): GAVI's σ²
        total = users * half

        def mixture(lam: float) -> float:
            return float(np.exp(lam * total - lam**2 * sigma2 * users / 2) * norm.pdf(lam, 0, np.sqrt(rho2 / sigma2)))

        assert quad(mixture, -1, 1, epsabs=1e-14, epsrel=1e-12, points=[0.0])[0] == pytest.approx(1 / alpha, rel=1e-6)


@pytest.mark.parametrize("method", ["gst", "gavi", "msprt"])
def test_looking_twenty_times_keeps_the_error_rate_where_a_naive_test_does_not(method: str) -> None:
    rng = np.random.default_rng(3)
    runs, looks, per_look = 1000, 20, 50
    false_positives = naive = 0
    for _ in range(runs):
        t, c = rng.normal(size=(2, looks * per_look))
        n = np.arange(1, looks + 1) * per_look
        stats = [(t[:k].mean(), t[:k].var(ddof=1), c[:k].mean(), c[:k].var(ddof=1)) for k in n]
        mt, vt, mc, vc = map(np.array, zip(*stats, strict=True))
        found = sequential_looks(method, n, mt, vt, n, mc, vc, max_users=2 * n[-1], tau=0.2)
        false_positives += found[-1].stopped
        naive += bool((np.abs(mt - mc) / np.sqrt(vt / n + vc / n) > 1.96).any())
    assert naive / runs > 0.15  # twenty looks at a fixed-horizon test: far above 5 %
    rate = false_positives / runs
    assert rate <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / runs), rate


def test_gst_without_a_planned_sample_uses_the_statistical_information() -> None:
    users = np.array([100.0, 200.0, 300.0])
    var = np.array([4.0, 2.5, 2.0])  # per-user variance falls as users' sessions accumulate
    looks = sequential_looks("gst", users, [0.1, 0.1, 0.1], var, users, [0.0, 0.0, 0.0], var)
    variance = 2 * var / users
    bounds = gst_boundaries(variance[-1] / variance)
    assert [look.upper - look.estimate for look in looks] == pytest.approx((bounds * np.sqrt(variance)).tolist())
    by_users = sequential_looks("gst", users, [0.1] * 3, var, users, [0.0] * 3, var, max_users=600)
    assert by_users[0].upper != pytest.approx(looks[0].upper)  # the users' fraction is another plan


class TestCorrelatedLooks:
    def test_brownian_correlation_gives_the_integrations_boundaries(self) -> None:
        t = np.array([0.25, 0.5, 0.75, 1.0])
        brownian = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
        exact, drawn = gst_boundaries(t), gst_boundaries_correlated(t, brownian)
        # a boundary from 200,000 draws is off by about sqrt(p (1 - p) / draws) / (2 φ(c)) for a look spending p;
        # the first look spends 1.5e-5 (3 draws) and is left out
        spent = np.diff(np.r_[0.0, spent_alpha(t, 0.05)])
        error = np.sqrt(spent * (1 - spent) / 200_000) / (2 * norm.pdf(exact))
        assert (np.abs(drawn - exact)[1:] < 4 * error[1:]).all(), (drawn, exact, error)

    def test_any_correlation_spends_exactly_alpha(self) -> None:
        """Looks less correlated than independent increments (a user's metric keeps changing): α still holds."""
        t = np.linspace(0.1, 1.0, 10)
        correlation = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t)) ** 2  # weaker than Brownian
        bounds = gst_boundaries_correlated(t, correlation)
        draws = 400_000
        z = np.abs(np.random.default_rng(99).multivariate_normal(np.zeros(10), correlation, size=draws))
        crossed = float((z >= bounds).any(axis=1).mean())
        assert abs(crossed - 0.05) < 3 * np.sqrt(0.05 * 0.95 / draws), crossed
        brownian = gst_boundaries(t)  # the independent-increment boundaries on these looks spend more than α
        assert float((z >= brownian).any(axis=1).mean()) > 0.055

    def test_a_bad_matrix_is_a_clear_error(self) -> None:
        with pytest.raises(ConfigError, match="correlation"):
            gst_boundaries_correlated([0.5, 1.0], np.eye(3))
