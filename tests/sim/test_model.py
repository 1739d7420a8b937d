"""The user model's equations, checked against hand computations; its scalar twins give the same bits."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from botify.sim.model import budget_decrement, listen_time, listen_time_one, round_time, sigmoid_one


def by_hand(score: float, b: float, s: float, gamma: float, count: int) -> float:
    raw = 1 / (1 + math.exp(-(score - b) * s))
    return round(raw * gamma**count, 2)


class TestListenTime:
    def test_matches_the_formula(self) -> None:
        cases = [(6.0, 5.0, 1.0, 0.8, 0), (6.0, 5.0, 1.0, 0.8, 2), (3.2, 5.0, 0.5, 0.8, 1), (12.0, 2.0, 2.0, 0.9, 3)]
        for score, b, s, gamma, count in cases:
            got = listen_time(np.array([score]), np.array([b]), np.array([s]), np.array([gamma]), count, False)
            assert got[0] == by_hand(score, b, s, gamma, count)

    def test_known_values(self) -> None:
        # sigmoid(1) = 0.7311 -> 0.73; times 0.8^2 = 0.4679 -> 0.47
        args = (np.array([6.0]), np.array([5.0]), np.array([1.0]), np.array([0.8]))
        assert listen_time(*args, 0, False)[0] == 0.73
        assert listen_time(*args, 2, False)[0] == 0.47

    def test_repeated_track_is_not_listened(self) -> None:
        got = listen_time(np.array([50.0]), np.array([0.0]), np.array([1.0]), np.array([0.8]), 0, True)
        assert got[0] == 0.0


class TestBudget:
    def test_drops_when_uniform_exceeds_time(self) -> None:
        assert budget_decrement(np.array([0.5, 0.5, 0.2]), np.array([0.4, 0.5, 0.9])).tolist() == [1, 0, 0]


class TestScalarTwins:
    def test_sigmoid_is_expit_bit_for_bit(self) -> None:
        x = np.random.default_rng(0).normal(0.0, 4.0, 200_000)
        assert [sigmoid_one(v) for v in x.tolist()] == expit(x).tolist()

    def test_rounding_is_numpys_around_at_the_halfway_points(self) -> None:
        halfway = (np.arange(0, 100) + 0.5) / 100
        edges = np.concatenate([halfway, np.nextafter(halfway, 0.0), np.nextafter(halfway, 1.0),
                                np.random.default_rng(1).random(100_000)])
        assert [round_time(v) for v in edges.tolist()] == np.around(edges, 2).tolist()

    def test_listen_time_one_is_listen_time(self) -> None:
        rng = np.random.default_rng(2)
        n = 100_000
        score, bias = rng.normal(0.5, 0.3, n), rng.normal(0.4, 0.1, n)
        sharpness, gamma = rng.uniform(1.0, 20.0, n), rng.uniform(0.5, 1.0, n)
        count, factor = rng.integers(0, 4, n), rng.uniform(0.3, 1.0, n)
        discount = np.power(gamma, count)
        plain = listen_time(score, bias, sharpness, gamma, count, False)
        fatigued = listen_time(score, bias, sharpness, gamma, count, False, factor)
        rows = zip(score.tolist(), bias.tolist(), sharpness.tolist(), discount.tolist(), factor.tolist(), strict=True)
        for i, (s, b, k, d, f) in enumerate(rows):
            assert listen_time_one(s, b, k, d) == plain[i]
            assert listen_time_one(s, b, k, d, f) == fatigued[i]
