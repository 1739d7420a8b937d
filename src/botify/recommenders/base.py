"""The online recommender interface: one request (or a batch of them) in, the next track out.

A request is ``(user, previous track, its listened time, session state)``; the session state that every
caller tracks is the user's session number and the request's step within the session. Recommenders hold
loaded arrays, never train, never speak HTTP and never see the simulator. Their randomness is counter-based:
a draw depends only on ``(random_state, user, session, step)``, so the service and the in-process simulator
give the same answers at any concurrency.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from typing_extensions import override

from botify.state import InMemoryStore, StateStore
from botify.world.catalog import Catalog
from botify.world.seeding import check_seed, counter_randint, counter_randint_one

__all__ = ["Recommender", "Requests", "StatefulRecommender", "mixed_probability_batch", "mixed_probability_one",
           "route_batch"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Requests:
    """A batch of ``/next`` requests, one row each (all arrays of equal length)."""

    user: IntArray
    track: IntArray
    time: npt.NDArray[np.float64]
    session: IntArray
    step: IntArray

    @classmethod
    def one(cls, user: int, track: int, time: float, session: int = 0, step: int = 0) -> Requests:
        """A batch holding a single request."""
        return cls(
            user=np.array([user], dtype=np.int64),
            track=np.array([track], dtype=np.int64),
            time=np.array([time], dtype=np.float64),
            session=np.array([session], dtype=np.int64),
            step=np.array([step], dtype=np.int64),
        )

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def take(self, rows: npt.NDArray[Any]) -> Requests:
        """The sub-batch of the given rows (indices or boolean mask)."""
        return Requests(self.user[rows], self.track[rows], self.time[rows], self.session[rows], self.step[rows])


class Recommender(ABC):
    """Base class of every recommender, built-in or plugin.

    Subclasses declare ``name`` and implement ``recommend_batch``; they may override ``recommend`` with a scalar
    fast path (it must give the batch's answer for the same row) and ``parameters`` (reported by
    ``get_config``). Randomness goes through ``draw`` / ``draw_one``, which depend only on
    ``(random_state, user, session, step, stream)``.

    Parameters
    ----------
    catalog : the public catalog.
    random_state : seed of the recommender's counter-based draws; ``None`` picks one at random (recorded in
        ``get_config()``, so a run can still be repeated).
    """

    name: ClassVar[str]

    def __init__(self, catalog: Catalog, *, random_state: int | None = None) -> None:
        self.catalog = catalog
        self.random_state = secrets.randbits(32) if random_state is None else check_seed(random_state, "random_state")

    @abstractmethod
    def recommend_batch(self, requests: Requests) -> IntArray:
        """The next track for every request of the batch, one id per row."""

    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        """The next track for one request; identical to the batch answer for the same row."""
        return int(self.recommend_batch(Requests.one(user, track, time, session, step))[0])

    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64] | None:
        """The probability that this recommender answers ``tracks[i]`` to ``requests[i]``: its policy ``π(a | x)``.

        The service logs it for the track it returned (the ``propensity`` field), and off-policy evaluation asks it
        of any track. ``None`` (the default) means the recommender cannot say; built-ins that pick at random from
        a known set return the exact probabilities.
        """
        return None

    def probability_one(self, user: int, track: int, time: float, session: int, step: int, chosen: int) -> float | None:
        """``probability_batch`` for one request and one track (the service's path)."""
        found = self.probability_batch(Requests.one(user, track, time, session, step), np.array([chosen]))
        return None if found is None else float(found[0])

    def parameters(self) -> dict[str, Any]:
        """The constructor's parameters beyond the catalog and ``random_state`` (for ``get_config``)."""
        return {}

    def get_config(self) -> dict[str, Any]:
        """Name and parameters, enough to rebuild the recommender."""
        return {"recommender": self.name, "random_state": self.random_state, **self.parameters()}

    def draw(self, high: npt.ArrayLike, requests: Requests, stream: int = 0) -> IntArray:
        """Counter-based integers on ``[0, high)`` for each request; ``stream`` separates independent draws."""
        return counter_randint(self.random_state, high, requests.user, requests.session, requests.step, stream)

    def draw_one(self, high: int, user: int, session: int, step: int, stream: int = 0) -> int:
        """Scalar twin of ``draw`` (pure Python, for the service's one-request path)."""
        return counter_randint_one(self.random_state, high, user, session, step, stream)


class StatefulRecommender(Recommender):
    """Base of recommenders that keep per-session state in a ``StateStore`` (given as ``store``).

    ``self.store.get_state(user) -> bytes | None`` and ``self.store.put_state(user, value)`` keep one value per
    user, shared by every replica of the service (in-process when no store is given). Subclasses implement
    ``recommend``; a batch is answered row by row, in order, so each request sees the state its predecessors left.
    """

    stateful: ClassVar[bool] = True

    def __init__(self, catalog: Catalog, *, store: StateStore | None = None, random_state: int | None = None) -> None:
        super().__init__(catalog, random_state=random_state)
        self.store: StateStore = store if store is not None else InMemoryStore()

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        return np.fromiter(
            (self.recommend(int(u), int(t), float(x), int(s), int(k)) for u, t, x, s, k in
             zip(requests.user, requests.track, requests.time, requests.session, requests.step, strict=True)),
            dtype=np.int64, count=len(requests))

    @abstractmethod
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        """The next track for one request, reading and writing the session's state."""


def route_batch(recommenders: list[Recommender], index: npt.NDArray[np.int64], requests: Requests) -> IntArray:
    """Answer each request with ``recommenders[index[row]]`` (one ``recommend_batch`` per recommender, in order)."""
    out = np.empty(len(requests), dtype=np.int64)
    for number, recommender in enumerate(recommenders):
        rows = np.flatnonzero(index == number)
        if len(rows):
            out[rows] = recommender.recommend_batch(requests.take(rows))
    return out


def mixed_probability_batch(recommenders: list[Recommender], weights: list[float], requests: Requests,
                            tracks: IntArray) -> npt.NDArray[np.float64] | None:
    """``Σ weight_m π_m(track | request)``: the policy of answering with ``recommenders[m]`` w.p. ``weight_m``.

    None when one of them cannot state its policy.
    """
    total = np.zeros(len(tracks))
    for weight, recommender in zip(weights, recommenders, strict=True):
        found = recommender.probability_batch(requests, tracks)
        if found is None:
            return None
        total += weight * found
    return total


def mixed_probability_one(recommenders: list[Recommender], weights: list[float], user: int, track: int, time: float,
                          session: int, step: int, chosen: int) -> float | None:
    """``mixed_probability_batch`` for one request (the service's path)."""
    total = 0.0
    for weight, recommender in zip(weights, recommenders, strict=True):
        found = recommender.probability_one(user, track, time, session, step, chosen)
        if found is None:
            return None
        total += weight * found
    return total
