"""Versioned model artifacts: arrays plus a small JSON manifest, validated before anything serves them.

Layout: ``ROOT/<name>/<version>/manifest.json`` and ``*.npy`` (no pickle), ``ROOT/<name>/LATEST`` naming the
newest version. Kinds and their arrays:

* ``indexed`` — ``users.npy`` (int64, sorted, unique) and ``items.npy`` (int32, users x k; ``-1`` pads):
  a list of tracks per user, nearest first (DSSM, ALS).
* ``item_lists`` — ``lists.npy`` (int32, tracks x k; ``-1`` pads): a list per previous track (Contextual).
* ``popularity`` — ``popularity.npy`` (float64, tracks): play counts (TopPop).

A manifest records the model, the data window, the parameters, the offline metrics, the catalog's
fingerprint, what reproduces the artifact (seed, threads, library versions, a hash of the training data) and
``content_hash``, a SHA-256 of the arrays' names, dtypes, shapes and bytes: two trainings gave the same model iff
their content hashes are equal (``created`` differs, of course). ``load_artifact`` refuses an artifact built for
another catalog, with malformed arrays, or whose arrays no longer match their content hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.errors import LabError
from botify.world.catalog import Catalog

__all__ = ["KINDS", "OPTIONAL", "Artifact", "ArtifactError", "catalog_fingerprint", "content_hash", "load_artifact",
           "read_manifest", "rows_of", "save_artifact"]

KINDS: dict[str, tuple[str, ...]] = {
    "indexed": ("users", "items"),
    "item_lists": ("lists",),
    "popularity": ("popularity",),
}
# Arrays a kind may carry besides its required ones (e.g. DSSM's vectors, for session-aware re-ranking).
OPTIONAL: dict[str, tuple[str, ...]] = {"indexed": ("user_vectors", "item_vectors", "item_neighbours")}
_VERSION = re.compile(r"^v\d{4,}$")


class ArtifactError(LabError):
    """An artifact is missing, corrupt, or does not fit the catalog."""


def rows_of(sorted_ids: npt.NDArray[np.int64], ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Row of each id in a sorted id array (an ``indexed`` artifact's ``users``), ``-1`` where it is absent."""
    rows = np.searchsorted(sorted_ids, ids)
    found = (rows < len(sorted_ids)) & (sorted_ids[np.minimum(rows, len(sorted_ids) - 1)] == ids)
    out: npt.NDArray[np.int64] = np.where(found, rows, -1).astype(np.int64)
    return out


def catalog_fingerprint(catalog: Catalog) -> str:
    """A short hash of what artifacts depend on: the track count and every track's artist and genre."""
    digest = hashlib.sha256(str(catalog.n_tracks).encode())
    digest.update(np.ascontiguousarray(catalog.artist_id, dtype=np.int32).tobytes())
    digest.update(np.ascontiguousarray(catalog.genre_id, dtype=np.int16).tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Artifact:
    """A loaded, validated artifact."""

    name: str
    version: str
    path: Path
    manifest: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]]

    @property
    def kind(self) -> str:
        """``indexed``, ``item_lists`` or ``popularity``."""
        return str(self.manifest["kind"])

    @property
    def ref(self) -> str:
        """``name/version``."""
        return f"{self.name}/{self.version}"


def content_hash(arrays: dict[str, npt.NDArray[Any]]) -> str:
    """SHA-256 over every array, in name order: name, dtype, shape, then the bytes in C order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.data)
    return digest.hexdigest()


def save_artifact(root: str | Path, name: str, kind: str, arrays: dict[str, npt.NDArray[Any]], catalog: Catalog,
                  **manifest: Any) -> Artifact:
    """Write a new version of ``name`` and point ``LATEST`` at it (atomically)."""
    if kind not in KINDS or not set(KINDS[kind]) <= set(arrays) <= set(KINDS[kind] + OPTIONAL.get(kind, ())):
        raise ArtifactError(f"kind {kind!r} needs arrays {KINDS.get(kind)} (optional: {OPTIONAL.get(kind, ())}), "
                            f"got {sorted(arrays)}")
    base = Path(root) / name
    base.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name[1:]) for p in base.iterdir() if p.is_dir() and _VERSION.match(p.name)]
    version = f"v{max(existing, default=0) + 1:04d}"
    path = base / version
    path.mkdir()
    for key, array in arrays.items():
        np.save(path / f"{key}.npy", array, allow_pickle=False)
    full = {"name": name, "version": version, "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "n_tracks": catalog.n_tracks, "catalog": catalog_fingerprint(catalog), **manifest,
            "content_hash": content_hash(arrays)}
    (path / "manifest.json").write_text(json.dumps(full, indent=2, sort_keys=True, default=_jsonable) + "\n")
    try:
        artifact = load_artifact(root, f"{name}/{version}", catalog)
    except ArtifactError:
        shutil.rmtree(path)
        raise
    latest = base / "LATEST.tmp"
    latest.write_text(version + "\n")
    os.replace(latest, base / "LATEST")
    return artifact


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def _resolve(root: Path, ref: str) -> tuple[str, str]:
    name, _, version = ref.partition("/")
    if not name or "/" in version or ".." in ref:
        raise ArtifactError(f"artifact reference must be NAME or NAME/VERSION, got {ref!r}")
    if not version:
        latest = root / name / "LATEST"
        if not latest.is_file():
            raise ArtifactError(f"no artifact {name!r} under {root} (train it first, e.g. `botify train ...`)")
        version = latest.read_text().strip()
    if not _VERSION.match(version):
        raise ArtifactError(f"artifact version must look like v0001, got {version!r}")
    return name, version


def _read_manifest(root: Path, ref: str) -> tuple[str, str, Path, Any]:
    name, version = _resolve(root, ref)
    path = root / name / version
    try:
        return name, version, path, json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise ArtifactError(f"artifact {name}/{version}: unreadable manifest ({error})") from error


def read_manifest(root: str | Path, ref: str) -> dict[str, Any]:
    """The manifest of ``NAME`` (latest) or ``NAME/VERSION`` — its metrics, seed, provenance — without the arrays."""
    name, version, _, manifest = _read_manifest(Path(root), ref)
    if not isinstance(manifest, dict):
        raise ArtifactError(f"artifact {name}/{version}: the manifest is not a JSON object")
    return manifest


def load_artifact(root: str | Path, ref: str, catalog: Catalog, *, mmap: bool = True) -> Artifact:
    """Load ``NAME`` (latest) or ``NAME/VERSION`` and validate it against ``catalog``."""
    name, version, path, manifest = _read_manifest(Path(root), ref)
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind not in KINDS:
        raise ArtifactError(f"artifact {name}/{version}: unknown kind {kind!r}; expected one of {sorted(KINDS)}")
    if manifest.get("n_tracks") != catalog.n_tracks or manifest.get("catalog") != catalog_fingerprint(catalog):
        raise ArtifactError(
            f"artifact {name}/{version} was built for another catalog (n_tracks {manifest.get('n_tracks')}, "
            f"fingerprint {manifest.get('catalog')}; this catalog: {catalog.n_tracks}, "
            f"{catalog_fingerprint(catalog)})"
        )
    arrays: dict[str, npt.NDArray[Any]] = {}
    for key in KINDS[kind]:
        try:
            arrays[key] = np.load(path / f"{key}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ArtifactError(f"artifact {name}/{version}: corrupt or missing {key}.npy ({error})") from error
    for key in OPTIONAL.get(kind, ()):
        if (path / f"{key}.npy").exists():
            try:
                arrays[key] = np.load(path / f"{key}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
            except (OSError, ValueError) as error:
                raise ArtifactError(f"artifact {name}/{version}: corrupt {key}.npy ({error})") from error
    problem = _check_arrays(kind, arrays, catalog.n_tracks)
    if problem:
        raise ArtifactError(f"artifact {name}/{version}: {problem}")
    expected = manifest.get("content_hash")
    if expected is not None and content_hash(arrays) != expected:
        raise ArtifactError(f"artifact {name}/{version}: its arrays do not match the manifest's content_hash "
                            f"{expected} (changed or corrupted after it was written)")
    return Artifact(name, version, path, manifest, arrays)


def _check_arrays(kind: str, arrays: dict[str, npt.NDArray[Any]], n_tracks: int) -> str | None:
    def tracks_ok(values: npt.NDArray[Any]) -> bool:
        return bool(values.size == 0 or (values.min() >= -1 and values.max() < n_tracks))

    if kind == "indexed":
        users, items = arrays["users"], arrays["items"]
        if users.dtype != np.int64 or users.ndim != 1 or (len(users) > 1 and not (np.diff(users) > 0).all()):
            return "users.npy must be sorted unique int64 ids"
        if items.dtype != np.int32 or items.ndim != 2 or items.shape[0] != len(users) or not tracks_ok(items):
            return f"items.npy must be int32 (users x k) with track ids in [-1, {n_tracks}), got {items.shape}"
        if ("item_vectors" in arrays) != ("user_vectors" in arrays):
            return "item_vectors.npy and user_vectors.npy come together"
        if "item_vectors" in arrays:
            item_vectors, user_vectors = arrays["item_vectors"], arrays["user_vectors"]
            if (item_vectors.dtype != np.float32 or item_vectors.ndim != 2 or item_vectors.shape[0] != n_tracks
                    or user_vectors.dtype != np.float32 or user_vectors.shape != (len(users), item_vectors.shape[1])
                    or not np.isfinite(item_vectors).all() or not np.isfinite(user_vectors).all()):
                return (f"item_vectors.npy must be finite float32 ({n_tracks} x d) and user_vectors.npy "
                        f"({len(users)} x d), got {item_vectors.shape}, {user_vectors.shape}")
        if "item_neighbours" in arrays:
            neighbours = arrays["item_neighbours"]
            if neighbours.dtype != np.int32 or neighbours.ndim != 2 or neighbours.shape[0] != n_tracks \
                    or not tracks_ok(neighbours):
                return (f"item_neighbours.npy must be int32 ({n_tracks} x k) with track ids in [-1, {n_tracks}), "
                        f"got {neighbours.shape}")
    elif kind == "item_lists":
        lists = arrays["lists"]
        if lists.dtype != np.int32 or lists.ndim != 2 or lists.shape[0] != n_tracks or not tracks_ok(lists):
            return f"lists.npy must be int32 ({n_tracks} x k) with track ids in [-1, {n_tracks}), got {lists.shape}"
    else:
        popularity = arrays["popularity"]
        if popularity.shape != (n_tracks,) or not np.isfinite(popularity).all() or (popularity < 0).any():
            return f"popularity.npy must hold {n_tracks} finite non-negative counts"
    return None
