"""Reuse of a recipe's collection day and trained models when nothing they depend on changed.

A step's *key* is a small dict of named inputs, each a value or a SHA-256 of content:

* the collection day: the world's files (catalog and truth), the seed, the episode count, the exploration
  experiment file, and the source of the code that writes its logs (simulator, service, recommenders, state);
* a model: the collection day's key, the model's name and seed, the training code's source and the versions of
  the libraries that compute it (numpy, torch, faiss, implicit).

The key is stored beside the step's output (``KEY.json``) once the step finished. A later run reuses the output
iff the stored key equals the new one and the output is still there; otherwise it says which inputs changed and
runs the step again. Editing a recommender plugin or the A/B day's experiment file changes neither key.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import botify

__all__ = ["CachedStep", "collection_key", "file_digest", "model_key", "source_digest", "tree_digest"]

_PACKAGE = Path(botify.__file__).parent
_LOG_WRITERS = ("sim", "service", "recommenders", "state", "world", "experiments.py", "errors.py", "artifacts.py")
_TRAINING = ("train", "logs", "artifacts.py",
             "world/catalog.py")
_LIBRARIES = ("numpy", "torch", "faiss-cpu", "implicit")


def file_digest(path: Path) -> str:
    """SHA-256 of one file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(root: Path, pattern: str = "*") -> str:
    """SHA-256 over the relative names and bytes of every file under ``root`` matching ``pattern``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(root)}\0{file_digest(path)}\0".encode())
    return digest.hexdigest()


def source_digest(parts: tuple[str, ...]) -> str:
    """SHA-256 of the lab's own source files under ``parts`` (packages or modules of ``botify``)."""
    digest = hashlib.sha256()
    for part in parts:
        path = _PACKAGE / part
        digest.update(f"{part}\0{tree_digest(path, '*.py') if path.is_dir() else file_digest(path)}\0".encode())
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def collection_key(world_dir: Path, exploration: Path, *, seed: int, episodes: int) -> dict[str, Any]:
    """What the collection day's logs depend on."""
    return {"world": tree_digest(world_dir / "catalog") + tree_digest(world_dir / "truth"),
            "seed": seed, "episodes": episodes, "exploration": file_digest(exploration),
            "code": source_digest(_LOG_WRITERS)}


def model_key(collection: dict[str, Any], name: str, *, seed: int) -> dict[str, Any]:
    """What a model trained from the collection day depends on."""
    return {"collection": hashlib.sha256(json.dumps(collection, sort_keys=True).encode()).hexdigest(),
            "model": name, "seed": seed, "code": source_digest(_TRAINING),
            "libraries": {package: _version(package) for package in _LIBRARIES}}


class CachedStep:
    """One step's stored key: ``fresh()`` says whether its output can be reused, ``changed()`` what differs."""

    def __init__(self, key_file: Path, key: dict[str, Any], *, rebuild: bool = False) -> None:
        self.key_file = key_file
        self.key = key
        self.rebuild = rebuild
        try:
            stored = json.loads(key_file.read_text())
        except (OSError, ValueError):
            stored = None
        self.stored: dict[str, Any] | None = stored if isinstance(stored, dict) else None

    def fresh(self, *outputs: Path) -> bool:
        """True when the stored key equals this run's and every output still exists."""
        return not self.rebuild and self.stored == self.key and all(path.exists() for path in outputs)

    def changed(self) -> str:
        """Why the step runs: ``first run``, ``--rebuild``, or the inputs whose values changed."""
        if self.rebuild:
            return "--rebuild"
        if self.stored is None:
            return "no earlier run"
        names = sorted(name for name in self.key.keys() | self.stored.keys()
                       if self.key.get(name) != self.stored.get(name))
        return "changed: " + ", ".join(names) if names else "its output is missing"

    def record(self) -> None:
        """Store the key (after the step's output was written completely)."""
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.key_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.key, indent=2, sort_keys=True) + "\n")
        temporary.replace(self.key_file)

    def forget(self) -> None:
        """Drop the stored key before the step's output is rewritten (a crash then leaves no stale key)."""
        self.key_file.unlink(missing_ok=True)
