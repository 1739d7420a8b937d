"""The offline-model template (RecTools shape): ``fit(data) -> self``, batch ``recommend(users, k)``.

Subclasses implement ``_fit`` and ``_recommend``; ``recommend`` before ``fit`` raises ``NotFittedError``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError, LabError
from botify.progress import ProgressCallback
from botify.train.dataset import Interactions
from botify.world.catalog import Catalog
from botify.world.seeding import check_seed

__all__ = ["NotFittedError", "OfflineModel"]

IntArray = npt.NDArray[np.int64]


class NotFittedError(LabError):
    """``recommend`` was called before ``fit``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"{self.name} isn't fitted, call method `fit` first."


class OfflineModel(ABC):
    """A model trained from logs and the public catalog."""

    name: ClassVar[str]

    def __init__(self, catalog: Catalog, *, random_state: int = 0, progress: ProgressCallback | None = None) -> None:
        self.catalog = catalog
        self.random_state = check_seed(random_state, "random_state")
        self.progress = progress
        self.is_fitted = False

    def _report(self, done: int, total: int) -> None:
        """Tell the caller's ``progress`` callback (if any) how far training is: stage = the class's name."""
        if self.progress is not None:
            self.progress(type(self).__name__, done, total)

    def fit(self, data: Interactions) -> Self:
        """Train on ``data`` and return ``self``."""
        if data.n_tracks != self.catalog.n_tracks:
            raise ConfigError(f"interactions are for {data.n_tracks} tracks, the catalog has {self.catalog.n_tracks}")
        self._fit(data)
        self.is_fitted = True
        return self

    def recommend(self, users: npt.ArrayLike, k: int) -> IntArray:
        """Top-``k`` tracks per user (rows follow ``users``; ``-1`` pads when fewer are known)."""
        if not self.is_fitted:
            raise NotFittedError(type(self).__name__)
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"`k` must be a positive integer, got {k!r}")
        return self._recommend(np.asarray(users, dtype=np.int64), k)

    def serve_history(self, data: Interactions) -> bool:
        """Let the fitted model serve every user and track of ``data`` without training on it again.

        A model whose serving state is read from the logs rather than learnt (DSSM's users' bags of liked
        tracks, Contextual's context tracks and each user's last track) refreshes it from ``data`` here and
        returns True; the default, False, means the model can only serve ``data`` by fitting it.
        """
        return False

    def get_config(self) -> dict[str, Any]:
        """Name and parameters (for manifests)."""
        return {"model": self.name, "random_state": self.random_state, **self._params()}

    def _params(self) -> dict[str, Any]:
        return {}

    @abstractmethod
    def _fit(self, data: Interactions) -> None: ...

    @abstractmethod
    def _recommend(self, users: IntArray, k: int) -> IntArray: ...
