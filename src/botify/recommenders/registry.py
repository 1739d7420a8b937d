"""Build online recommenders by name, as experiment files name them.

An arm's ``params`` may name an artifact (``artifact: dssm`` for the latest version, or ``dssm/v0003``); it is
loaded and validated from the artifacts root given to the service or the simulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botify.artifacts import load_artifact
from botify.errors import ConfigError
from botify.recommenders.base import Recommender
from botify.recommenders.baselines import RandomRecommender, StickyArtistRecommender, TopPopRecommender
from botify.recommenders.custom import CustomRecommender
from botify.recommenders.lists import ContextualRecommender, IndexedRecommender
from botify.recommenders.session import SessionRecommender
from botify.state import StateStore
from botify.world.catalog import Catalog

__all__ = ["RECOMMENDERS", "build_recommender"]

RECOMMENDERS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (RandomRecommender, TopPopRecommender, StickyArtistRecommender, IndexedRecommender,
                ContextualRecommender, CustomRecommender, SessionRecommender)
}
_ARTIFACT_PARAMS = ("artifact", "dssm", "contextual")


def build_recommender(
    name: str, catalog: Catalog, params: dict[str, Any] | None = None, *, random_state: int | None = None,
    artifacts: str | Path | None = None, store: StateStore | None = None,
) -> Recommender:
    """Instantiate the recommender called ``name`` with its parameters (loading its artifact, if any)."""
    if name not in RECOMMENDERS:
        raise ConfigError(f"unknown recommender {name!r}; expected one of {sorted(RECOMMENDERS)}")
    params = dict(params or {})
    for key in _ARTIFACT_PARAMS:
        if key in params:
            if artifacts is None:
                raise ConfigError(f"recommender {name!r} names artifact {params[key]!r}: pass an artifacts "
                                  "directory (`--artifacts DIR`)")
            params[key] = load_artifact(artifacts, str(params[key]), catalog)
    if getattr(RECOMMENDERS[name], "stateful", False):
        params["store"] = store
    try:
        return RECOMMENDERS[name](catalog, random_state=random_state, **params)
    except TypeError as error:
        raise ConfigError(f"bad parameters {params!r} for recommender {name!r}: {error}") from error
