"""Seeds and random draws: one RNG factory and counter-based uniforms.

Two kinds of randomness live in the lab:

* ``make_rng(seed)`` — a NumPy ``Generator`` for sequential work (world generation, Gymnasium envs).
* ``counter_uniform(seed, *counters)`` — a stateless hash of integer counters to [0, 1). Every draw of the
  simulator and of online recommenders derives from ``(seed, episode/user, session, step, stream)`` this way,
  so results never depend on concurrency, scheduling or which replica answered.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError

__all__ = [
    "check_seed",
    "counter_hash",
    "counter_randint",
    "counter_randint_one",
    "counter_state",
    "counter_uniform",
    "counter_uniform_one",
    "make_rng",
    "uniform_from_state",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


def check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` if it is a non-negative Python integer, else raise ``ConfigError``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ConfigError(f"`{name}` must be a non-negative integer, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ConfigError(f"`{name}` must be a non-negative integer, got {seed}")
    return int(seed)


def make_rng(seed: int) -> np.random.Generator:
    """Build a PCG64 generator from ``SeedSequence(seed)``; ``seed`` must be a non-negative int."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(check_seed(seed))))


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def counter_hash(seed: int, *counters: Any) -> npt.NDArray[np.uint64]:
    """Hash ``seed`` and integer counters (scalars or broadcastable arrays) to uniform 64-bit integers.

    Each counter is folded in with one SplitMix64 round, so ``(1, 2)`` and ``(2, 1)`` differ.
    """
    with np.errstate(over="ignore"):
        state = _splitmix(np.asarray([seed & _MASK64], dtype=np.uint64))
        for counter in counters:
            value = np.asarray(counter).astype(np.int64, copy=False).astype(np.uint64)
            state = _splitmix(state ^ _splitmix(value))
    return state


def counter_uniform(seed: int, *counters: Any) -> npt.NDArray[np.float64]:
    """Uniform draws on [0, 1) with 53 random bits, one per broadcast element of the counters."""
    bits = counter_hash(seed, *counters) >> np.uint64(11)
    return bits.astype(np.float64) * (1.0 / (1 << 53))


def counter_randint(seed: int, high: Any, *counters: Any) -> npt.NDArray[np.int64]:
    """Integers uniform on ``[0, high)`` (``high`` may be an array), derived like ``counter_uniform``."""
    draws = counter_uniform(seed, *counters) * np.asarray(high)
    result: npt.NDArray[np.int64] = np.minimum(draws.astype(np.int64), np.asarray(high, dtype=np.int64) - 1)
    return result


def _splitmix_int(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


# A draw of the service's one-request path hashes five counters, and Python integer arithmetic is slow: the
# counters' own mixes (users, sessions, steps, streams: few distinct values) are remembered, up to a bound.
_MIXES: dict[int, int] = {}
_MAX_MIXES = 1 << 16


def _mix(counter: int) -> int:
    mixed = _MIXES.get(counter)
    if mixed is None:
        if len(_MIXES) >= _MAX_MIXES:
            _MIXES.clear()
        mixed = _MIXES[counter] = _splitmix_int(counter & _MASK64)
    return mixed


@functools.lru_cache(maxsize=256)
def _seed_state(seed: int) -> int:
    return _splitmix_int(seed & _MASK64)


def counter_state(seed: int, *counters: int) -> int:
    """The hash state after ``seed`` and the leading ``counters``: draws sharing them continue from it."""
    state = _seed_state(seed)
    for counter in counters:
        state = _splitmix_int(state ^ _mix(counter))
    return state


def uniform_from_state(state: int, *counters: int) -> float:
    """``counter_uniform_one(seed, *leading, *counters)`` given ``state = counter_state(seed, *leading)``."""
    for counter in counters:
        state = _splitmix_int(state ^ _mix(counter))
    return (state >> 11) * (1.0 / (1 << 53))


def counter_uniform_one(seed: int, *counters: int) -> float:
    """Scalar twin of ``counter_uniform`` in pure Python (no NumPy overhead), bit-identical to it."""
    return uniform_from_state(_seed_state(seed), *counters)


def counter_randint_one(seed: int, high: int, *counters: int) -> int:
    """Scalar twin of ``counter_randint``."""
    return min(int(counter_uniform_one(seed, *counters) * high), high - 1)
