"""What reproduces a trained artifact: the seed, the thread count, the libraries, and the data it was trained on.

Written into every manifest by ``botify train`` (``reproduce``). Training is a pure function of the data, the
public catalog, the parameters and the seed on one machine and thread count; these fields say which.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from typing import Any

import numpy as np

from botify.train.dataset import Interactions

__all__ = ["LIBRARIES", "data_hash", "provenance"]

LIBRARIES = ("botify", "numpy", "torch", "faiss-cpu", "implicit", "scipy")


def data_hash(data: Interactions) -> str:
    """SHA-256 of the interactions a model is trained on (every column, in order)."""
    digest = hashlib.sha256(f"n_tracks={data.n_tracks}|".encode())
    for name in ("user", "track", "time", "timestamp", "session", "position"):
        column = np.ascontiguousarray(getattr(data, name))
        digest.update(f"{name}|{column.dtype.str}|{column.shape}|".encode())
        digest.update(column.data)
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def provenance(data: Interactions, seed: int, parameters: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``reproduce`` section."""
    return {
        "seed": seed,
        "threads": parameters.get("threads"),
        "data_hash": data_hash(data),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }
