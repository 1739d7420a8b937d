"""Interleaving for next-track: two or more recommenders take turns choosing a session's tracks (team draft).

A session's steps are cut into rounds of as many steps as there are components; each round plays every component
once, in an order drawn per (user, session, round) — balanced turns with a random first pick, the team-draft rule
of Radlinski, Kurup & Joachims (CIKM 2008) carried over from a ranked list to a sequence of single tracks. The
draw is counter-based, so the service, the in-process engine and the analysis agree on every turn. The service
logs each ``next`` line's ``team`` (the index of the component that chose it) after the other fields, and the
analysis (``botify ab interleave``) credits each team with the listened time of its picks.

A stateful component (the report's ``custom``, ``session``) keeps its state under a key of its own
(``ComponentStore``) and is asked at every step, its rivals' turns included, so that its state sees every track
of the session; only the answer of the team whose turn it is is served. What it learns from a track its rival chose
is part of interleaving's answer (carry-over between turns).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import override

from botify.errors import ConfigError
from botify.recommenders.base import (
    IntArray,
    Recommender,
    Requests,
    mixed_probability_batch,
    mixed_probability_one,
    route_batch,
)
from botify.state import StateStore
from botify.world.catalog import Catalog

__all__ = ["ComponentStore", "InterleaveRecommender"]

_TEAM_STREAM = 11
_MAX_COMPONENTS = 16


class ComponentStore:
    """A component's view of the state store: user ``u``'s state under key ``-(16 u + index + 1)``.

    Negative keys are never a user's, so two stateful components (and a plain arm of the same recommender) never
    read each other's session state. Only ``get_state`` and ``put_state`` are a recommender's to call.
    """

    def __init__(self, store: StateStore, index: int) -> None:
        if not 0 <= index < _MAX_COMPONENTS:
            raise ConfigError(f"interleave takes at most {_MAX_COMPONENTS} components")
        self.store = store
        self.index = index

    def _key(self, user: int) -> int:
        return -(user * _MAX_COMPONENTS + self.index + 1)

    def get_state(self, user: int) -> bytes | None:
        """The component's state for ``user``."""
        return self.store.get_state(self._key(user))

    def put_state(self, user: int, state: bytes) -> None:
        """Store the component's state for ``user``."""
        self.store.put_state(self._key(user), state)


class InterleaveRecommender(Recommender):
    """Answer each request with the component whose turn it is (see the module docstring)."""

    name = "interleave"

    def __init__(self, catalog: Catalog, *, components: list[Recommender], random_state: int | None = None) -> None:
        super().__init__(catalog, random_state=random_state)
        if not 2 <= len(components) <= _MAX_COMPONENTS:
            raise ConfigError(f"interleave needs two to {_MAX_COMPONENTS} components, got {len(components)}")
        self.components = components
        self.stateful = any(getattr(c, "stateful", False) for c in components)
        self._equal = [1.0 / len(components)] * len(components)

    @override
    def parameters(self) -> dict[str, Any]:
        return {"components": [c.get_config() for c in self.components]}

    def team_batch(self, requests: Requests) -> IntArray:
        """The component whose turn each request is: position ``step % n`` of its round's drawn order."""
        n = len(self.components)
        rounds = Requests(requests.user, requests.track, requests.time, requests.session, requests.step // n)
        order = np.tile(np.arange(n, dtype=np.int64), (len(requests), 1))
        rows = np.arange(len(requests))
        for last in range(n - 1, 0, -1):  # Fisher-Yates, one counter stream per swap
            swap = self.draw(last + 1, rounds, _TEAM_STREAM + last)
            order[rows, last], order[rows, swap] = order[rows, swap], order[rows, last].copy()
        team: IntArray = order[rows, requests.step % n]
        return team

    def team_one(self, user: int, session: int, step: int) -> int:
        """Scalar twin of ``team_batch``."""
        n = len(self.components)
        order = list(range(n))
        for last in range(n - 1, 0, -1):
            swap = self.draw_one(last + 1, user, session, step // n, _TEAM_STREAM + last)
            order[last], order[swap] = order[swap], order[last]
        return order[step % n]

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        if self.stateful:  # row by row, in order: each request sees the state its predecessors left
            return np.fromiter((self.recommend(int(u), int(t), float(x), int(s), int(k)) for u, t, x, s, k in zip(
                requests.user, requests.track, requests.time, requests.session, requests.step, strict=True)),
                dtype=np.int64, count=len(requests))
        return route_batch(self.components, self.team_batch(requests), requests)

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        team = self.team_one(user, session, step)
        for index, component in enumerate(self.components):
            if index != team and getattr(component, "stateful", False):
                component.recommend(user, track, time, session, step)  # its state sees the track; answer unused
        return self.components[team].recommend(user, track, time, session, step)

    @override
    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64] | None:
        # each component's turn comes at any given step with probability 1/n (over the round's draw)
        return mixed_probability_batch(self.components, self._equal, requests, tracks)

    @override
    def probability_one(self, user: int, track: int, time: float, session: int, step: int,
                        chosen: int) -> float | None:
        return mixed_probability_one(self.components, self._equal, user, track, time, session, step, chosen)
