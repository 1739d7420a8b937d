"""Seeding: the RNG factory and counter-based draws."""

from __future__ import annotations

import numpy as np
import pytest

from botify.errors import ConfigError
from botify.world.seeding import (
    counter_randint,
    counter_randint_one,
    counter_state,
    counter_uniform,
    counter_uniform_one,
    make_rng,
    uniform_from_state,
)


class TestMakeRng:
    def test_same_seed_same_stream(self) -> None:
        assert make_rng(5).random(3).tolist() == make_rng(5).random(3).tolist()

    @pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
    def test_rejects_bad_seeds(self, seed: object) -> None:
        with pytest.raises(ConfigError, match="`seed` must be a non-negative integer"):
            make_rng(seed)  # type: ignore[arg-type]


class TestCounterDraws:
    def test_depend_only_on_the_counters(self) -> None:
        batch = counter_uniform(1, np.arange(1000), 7)
        singles = [counter_uniform(1, i, 7)[0] for i in (0, 500, 999)]
        assert [batch[0], batch[500], batch[999]] == singles

    def test_order_of_counters_matters(self) -> None:
        assert counter_uniform(1, 2, 3)[0] != counter_uniform(1, 3, 2)[0]

    def test_are_uniform(self) -> None:
        draws = counter_uniform(42, np.arange(200_000))
        assert 0 <= draws.min() and draws.max() < 1
        counts = np.histogram(draws, bins=10, range=(0, 1))[0]
        assert np.abs(counts / 20_000 - 1).max() < 0.03

    def test_randint_respects_per_row_bounds(self) -> None:
        high = np.array([1, 2, 5, 1000])
        draws = counter_randint(3, high[:, None], np.arange(4)[:, None], np.arange(500)[None, :])
        assert (draws >= 0).all() and (draws < high[:, None]).all()

    def test_scalar_twins_give_the_same_bits(self) -> None:
        rng = np.random.default_rng(4)
        small = rng.integers(0, 50, (3000, 4))  # repeated counters: their remembered mixes are used
        large = rng.integers(-(2**62), 2**62, (3000, 4))
        for counters in (small, large, small):
            columns = [counters[:, i] for i in range(4)]
            rows = counters.tolist()
            assert [counter_uniform_one(77, *row) for row in rows] == counter_uniform(77, *columns).tolist()
            assert [uniform_from_state(counter_state(77, a, b), c, d) for a, b, c, d in rows] == \
                counter_uniform(77, *columns).tolist()
            assert [counter_randint_one(77, 1000, *row) for row in rows] == \
                counter_randint(77, 1000, *columns).tolist()
