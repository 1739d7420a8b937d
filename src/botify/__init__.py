"""Botify: an open lab for music next-track recommendation.

The extension API is importable from here: ``from botify import Recommender, Requests`` (and
``StatefulRecommender`` for recommenders that keep per-session state; ``Trainer`` and ``Interactions`` for
model plugins). The names load on first use, so that
``import botify`` (every command line) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from botify.recommenders.base import Recommender, Requests, StatefulRecommender
    from botify.train.dataset import Interactions
    from botify.train.trainer import Trainer

__all__ = ["Interactions", "Recommender", "Requests", "StatefulRecommender", "Trainer", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Recommender", "Requests", "StatefulRecommender"):
        from botify.recommenders import base

        return getattr(base, name)
    if name == "Trainer":
        from botify.train.trainer import Trainer

        return Trainer
    if name == "Interactions":
        from botify.train.dataset import Interactions

        return Interactions
    raise AttributeError(f"module 'botify' has no attribute {name!r}")
