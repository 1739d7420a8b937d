"""The simulator's view of a world: public catalog plus private truth, as arrays ready for the equations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.world.catalog import Catalog, load_catalog
from botify.world.truth import Truth, load_truth

__all__ = ["SimWorld", "load_sim_world"]


@dataclass(frozen=True)
class SimWorld:
    """Everything the user model needs: float64 embeddings, artists and per-user parameters."""

    catalog: Catalog
    truth: Truth
    embeddings: npt.NDArray[np.float64]
    artist_id: npt.NDArray[np.int64]

    @classmethod
    def from_parts(cls, catalog: Catalog, truth: Truth) -> SimWorld:
        """Combine a loaded catalog and truth."""
        return cls(
            catalog=catalog,
            truth=truth,
            embeddings=np.ascontiguousarray(truth.embeddings, dtype=np.float64),
            artist_id=catalog.artist_id.astype(np.int64),
        )

    @property
    def n_users(self) -> int:
        """Number of users."""
        return self.truth.n_users

    @property
    def n_tracks(self) -> int:
        """Number of tracks."""
        return self.truth.n_tracks


def load_sim_world(world_dir: str | Path) -> SimWorld:
    """Load a world directory for simulation."""
    return SimWorld.from_parts(load_catalog(world_dir), load_truth(world_dir))
