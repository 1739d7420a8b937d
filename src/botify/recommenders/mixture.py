"""An exploration policy for collection days: a mixture of recommenders with known weights.

Each request draws a component with probability ``weight`` (counter-based, its own stream) and answers with that
component's pick, so the probability of the returned track is ``Σ_m weight_m · π_m(track | request)`` — exact
when every component reports its own (``probability_batch``). That is what off-policy evaluation needs: logs whose
propensities are known, and whose support covers the candidate lists.
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
from botify.world.catalog import Catalog

__all__ = ["MixtureRecommender"]

_COMPONENT_STREAM = 7


class MixtureRecommender(Recommender):
    """Answer each request with one of ``components``, drawn with probabilities ``weights``."""

    name = "mixture"

    def __init__(self, catalog: Catalog, *, components: list[Recommender], weights: list[float],
                 random_state: int | None = None) -> None:
        super().__init__(catalog, random_state=random_state)
        if not components or len(components) != len(weights):
            raise ConfigError("`components` and `weights` must be non-empty and of equal length")
        if any(not w > 0 for w in weights):
            raise ConfigError(f"every weight must be > 0, got {weights}")
        for component in components:
            if getattr(component, "stateful", False):
                raise ConfigError(f"mixture components must be stateless, got {component.name!r}")
            probe = Requests.one(0, 0, 1.0)
            if component.probability_batch(probe, np.array([0])) is None:
                raise ConfigError(f"mixture component {component.name!r} does not report its probabilities")
        self.components = components
        total = float(sum(weights))
        self.weights = np.array(weights, dtype=np.float64) / total
        self._edges = np.cumsum(self.weights)[:-1]

    @override
    def parameters(self) -> dict[str, Any]:
        return {"components": [c.get_config() for c in self.components], "weights": self.weights.tolist()}

    @override
    def recommend_batch(self, requests: Requests) -> IntArray:
        uniform = self.draw(1 << 30, requests, _COMPONENT_STREAM) / float(1 << 30)
        return route_batch(self.components, np.searchsorted(self._edges, uniform, side="right"), requests)

    @override
    def probability_batch(self, requests: Requests, tracks: IntArray) -> npt.NDArray[np.float64]:
        found = mixed_probability_batch(self.components, self.weights.tolist(), requests, tracks)
        assert found is not None  # every component's was checked when built
        return found

    @override
    def probability_one(self, user: int, track: int, time: float, session: int, step: int, chosen: int) -> float:
        found = mixed_probability_one(self.components, self.weights.tolist(), user, track, time, session, step, chosen)
        assert found is not None  # every component's was checked when built
        return found
