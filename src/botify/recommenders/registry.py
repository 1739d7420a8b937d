"""Build online recommenders by name, as experiment files name them."""

from __future__ import annotations

from typing import Any

from botify.errors import ConfigError
from botify.recommenders.base import Recommender
from botify.recommenders.baselines import RandomRecommender, StickyArtistRecommender, TopPopRecommender
from botify.world.catalog import Catalog

__all__ = ["RECOMMENDERS", "build_recommender"]

RECOMMENDERS: dict[str, type[Recommender]] = {
    cls.name: cls for cls in (RandomRecommender, TopPopRecommender, StickyArtistRecommender)
}


def build_recommender(
    name: str, catalog: Catalog, params: dict[str, Any] | None = None, *, random_state: int | None = None
) -> Recommender:
    """Instantiate the recommender called ``name`` with its parameters."""
    if name not in RECOMMENDERS:
        raise ConfigError(f"unknown recommender {name!r}; expected one of {sorted(RECOMMENDERS)}")
    try:
        return RECOMMENDERS[name](catalog, random_state=random_state, **(params or {}))
    except TypeError as error:
        raise ConfigError(f"bad parameters {params!r} for recommender {name!r}: {error}") from error
