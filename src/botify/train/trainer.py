"""Model plugins: the ``Trainer`` protocol and how ``botify train module:Class`` runs one like a built-in.

A trainer is fitted on the logs' interactions (``Interactions``: one row per played track, with user, track,
listened time, session and position) and the public catalog; it ranks tracks for users (for the offline
recall@100 / NDCG@100 beside TopPop) and exports the arrays of an artifact kind (``botify.artifacts``):

* ``indexed`` — ``users`` (sorted unique int64) and ``items`` (int32, users x k, ``-1`` pads): a list per user,
  served by ``indexed`` arms (or read by your own recommender through an ``artifact`` parameter);
* ``item_lists`` — ``lists`` (int32, tracks x k): a list per previous track, served by ``contextual`` arms;
* ``popularity`` — ``popularity`` (float64, tracks).

The pipeline checks every answer: a ranking of the wrong shape, non-integer ids or ids outside the catalog, or
arrays that do not fit the kind stop the run with a ``PluginError`` naming the trainer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from typing_extensions import override

from botify.artifacts import KINDS
from botify.errors import PluginError
from botify.train.base import IntArray, OfflineModel
from botify.train.dataset import Interactions
from botify.world.catalog import Catalog
from botify.world.seeding import check_seed

__all__ = ["TRAINER_GROUP", "PluginModel", "Trainer"]

TRAINER_GROUP = "botify.trainers"


class Trainer(ABC):
    """Base class of a model plugin.

    Subclasses declare ``name`` (the artifact's name) and ``kind`` (one of ``indexed``, ``item_lists``,
    ``popularity``), take ``(catalog, *, random_state, **params)`` and implement ``fit``, ``recommend`` and
    ``export``; ``parameters`` is recorded in the artifact's manifest.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "indexed"

    def __init__(self, catalog: Catalog, *, random_state: int = 0) -> None:
        self.catalog = catalog
        self.random_state = check_seed(random_state, "random_state")

    @abstractmethod
    def fit(self, data: Interactions) -> None:
        """Learn from the interactions (the catalog is ``self.catalog``)."""

    @abstractmethod
    def recommend(self, users: IntArray, k: int) -> IntArray:
        """The top ``k`` tracks of each user (rows follow ``users``; ``-1`` pads): an int array, users x k."""

    @abstractmethod
    def export(self) -> dict[str, npt.NDArray[Any]]:
        """The artifact's arrays for ``kind``."""

    def parameters(self) -> dict[str, Any]:
        """The constructor's parameters beyond the catalog and ``random_state``."""
        return {}


class PluginModel(OfflineModel):
    """A ``Trainer`` run by the pipeline like a built-in model, every answer checked."""

    def __init__(self, trainer: Trainer, label: str) -> None:
        super().__init__(trainer.catalog, random_state=trainer.random_state)
        if trainer.kind not in KINDS:
            raise PluginError(f"trainer {label!r}: kind {trainer.kind!r} is not one of {sorted(KINDS)}")
        self.trainer = trainer
        self.label = label
        self.name = trainer.name  # type: ignore[misc]  # the plugin's own name, per instance

    @override
    def _fit(self, data: Interactions) -> None:
        try:
            self.trainer.fit(data)
        except Exception as error:
            raise PluginError(f"trainer {self.label!r} failed in fit: {type(error).__name__}: {error}") from error

    @override
    def _recommend(self, users: IntArray, k: int) -> IntArray:
        try:
            ranking = np.asarray(self.trainer.recommend(users, k))
        except Exception as error:
            raise PluginError(f"trainer {self.label!r} failed in recommend: {type(error).__name__}: {error}") \
                from error
        if ranking.shape != (len(users), k):
            raise PluginError(f"trainer {self.label!r} ranked {len(users)} users with shape {ranking.shape}; "
                              f"expected ({len(users)}, {k})")
        if not np.issubdtype(ranking.dtype, np.integer):
            raise PluginError(f"trainer {self.label!r} ranked with {ranking.dtype} values; expected track ids")
        if ranking.size and (ranking.min() < -1 or ranking.max() >= self.catalog.n_tracks):
            raise PluginError(f"trainer {self.label!r} ranked tracks outside the catalog "
                              f"-1..{self.catalog.n_tracks - 1}")
        return ranking.astype(np.int64)

    @override
    def _params(self) -> dict[str, Any]:
        return self.trainer.parameters()

    def export(self) -> dict[str, npt.NDArray[Any]]:
        """The trainer's arrays (the artifact's writer validates them against the kind)."""
        try:
            return dict(self.trainer.export())
        except Exception as error:
            raise PluginError(f"trainer {self.label!r} failed in export: {type(error).__name__}: {error}") from error
