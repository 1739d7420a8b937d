"""The user model's equations (SPEC section 2), vectorised; the env, the engine and the agents all call these.

For a recommended track ``r`` in a session started from interest track ``j`` (session vector ``v = e_j``)::

    raw  = sigmoid((e_r · v − b) · s)
    time = round(raw · γ^c, 2)        c = tracks of r's artist already in the session
    time = 0                           if r was already played in this session

After each track the budget drops by one when a uniform draw ``u > time``; the session ends at budget 0.
With the return model on, ``time`` is also multiplied by the artist's fatigue across sessions before rounding.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.special import expit

__all__ = ["budget_decrement", "listen_time", "listen_time_one", "play_step", "round_time", "sigmoid_one",
           "taste_scores"]

FloatArray = npt.NDArray[np.float64]


def taste_scores(embeddings: FloatArray, tracks: npt.NDArray[np.int64], session_vectors: FloatArray) -> FloatArray:
    """Inner products ``e_track · v`` row by row (``v`` = the session's interest embedding), in float64.

    ``einsum`` sums each row on its own, so a row's score does not depend on the batch it came in.
    """
    scores: FloatArray = np.einsum("ij,ij->i", embeddings.take(tracks, axis=0), session_vectors)
    return scores


def listen_time(
    score: FloatArray,
    consume_bias: FloatArray,
    consume_sharpness: FloatArray,
    artist_discount_gamma: FloatArray,
    artist_count: npt.ArrayLike,
    already_played: npt.ArrayLike,
    factor: FloatArray | None = None,
) -> FloatArray:
    """Listened fraction of each recommended track, rounded to 2 decimals (``np.around``, as the reference).

    ``factor`` multiplies the time before rounding (the return model's fatigue across sessions).
    """
    raw = expit((score - consume_bias) * consume_sharpness)
    discounted = raw * np.power(artist_discount_gamma, artist_count)
    time = np.around(discounted if factor is None else discounted * factor, decimals=2)
    return np.where(already_played, 0.0, time)


def listen_time_one(score: float, consume_bias: float, consume_sharpness: float, discount: float,
                    factor: float = 1.0) -> float:
    """Scalar twin of ``listen_time`` for a track not yet played, in Python floats (no NumPy overhead).

    ``discount`` is ``γ^c``, which callers take from NumPy's ``power`` (``math.pow`` may differ in the last
    bit); the other steps are the same IEEE operations in the same order, so the result is the same bits.
    """
    return round_time(sigmoid_one((score - consume_bias) * consume_sharpness) * discount * factor)


def sigmoid_one(x: float) -> float:
    """SciPy's ``expit`` of one float: its formula, ``1 / (1 + exp(-x))``, with the same C ``exp``."""
    return 1.0 / (1.0 + math.exp(-x))


def round_time(time: float) -> float:
    """``np.around(time, 2)`` of one float: ``time * 100``, rounded half to even, ``/ 100`` — NumPy's steps."""
    return round(time * 100.0) / 100.0


def budget_decrement(uniform: FloatArray, time: FloatArray) -> npt.NDArray[np.int64]:
    """1 where the budget drops (``u > time``), else 0."""
    return (uniform > time).astype(np.int64)


def play_step(
    embeddings: FloatArray,
    track: npt.NDArray[np.int64],
    session_vectors: FloatArray,
    consume_bias: FloatArray,
    consume_sharpness: FloatArray,
    artist_discount_gamma: FloatArray,
    artist_count: npt.ArrayLike,
    already_played: npt.ArrayLike,
    uniform: FloatArray,
    factor: FloatArray | None = None,
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """One step of the user model: each recommended track's listened time, and 1 where the budget drops.

    The batched engine calls it for thousands of sessions at once, the step-by-step player (the remote agent,
    the console and the Gymnasium env) for one. ``factor``: see ``listen_time``.
    """
    time = listen_time(taste_scores(embeddings, track, session_vectors), consume_bias, consume_sharpness,
                       artist_discount_gamma, artist_count, already_played, factor)
    return time, budget_decrement(uniform, time)
