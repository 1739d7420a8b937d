"""Elementwise ``exp`` and ``power`` that give the same bits on every CPU, for generating worlds.

NumPy picks a SIMD implementation of float64 ``exp``, ``log`` and ``power`` by what the CPU offers: on machines
with AVX-512 some results differ from other machines' in the last bit, so the same seed would give a slightly
different world (seen: the pinned world digest differed between an AVX-512 and an AVX2 machine, everything
else equal). World generation calls these instead: the C library's functions, one element at a time (a world
needs at most a few hundred thousand of them).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["portable_exp", "portable_power"]

FloatArray = npt.NDArray[np.float64]


def portable_exp(values: npt.ArrayLike) -> FloatArray:
    """``np.exp(values)``, computed by the C library's ``exp``."""
    array = np.asarray(values, dtype=np.float64)
    return np.fromiter(map(math.exp, array.ravel().tolist()), dtype=np.float64, count=array.size).reshape(array.shape)


def portable_power(values: npt.ArrayLike, exponent: float) -> FloatArray:
    """``np.power(values, exponent)``, computed by the C library's ``pow``."""
    array = np.asarray(values, dtype=np.float64)
    return np.fromiter((math.pow(v, exponent) for v in array.ravel().tolist()), dtype=np.float64,
                       count=array.size).reshape(array.shape)
