"""Write a world folder all or nothing: a catalog and a truth staged beside the target, then moved into place."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from botify.world.catalog import Catalog
from botify.world.truth import Truth

__all__ = ["write_world_folder"]


def write_world_folder(out: Path, catalog: Catalog, truth: Truth) -> None:
    """Write ``out/catalog`` and ``out/truth`` so that ``out`` appears complete or not at all.

    ``out`` must not exist, or be an empty folder (replaced); callers say which they accept before doing the work.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        catalog.save(staging)
        truth.save(staging)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
