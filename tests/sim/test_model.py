"""The user model's equations, checked against hand computations."""

from __future__ import annotations

import math

import numpy as np

from botify.sim.model import budget_decrement, listen_time


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
