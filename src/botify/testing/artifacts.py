"""Stand-in DSSM and Contextual artifacts from seeded random vectors, for tests and benchmarks.

The online recommenders only read arrays, so these exercise every serving path (Indexed, Contextual, custom,
session) without a training run; their recommendations are not meant to be good.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from botify.artifacts import save_artifact
from botify.train.neighbours import indexed_arrays, top_k_inner_product
from botify.world.catalog import Catalog

__all__ = ["REPORT_ARMS", "random_report_artifacts", "write_report_arms"]

# An experiment over those artifacts: DSSM's random pick, the report's custom recommender and our session
# recommender (the last two keep per-session state).
REPORT_ARMS = """seed: 3
experiments:
  - name: REPORT
    arms:
      - {recommender: indexed, params: {artifact: dssm}}
      - {recommender: custom, params: {dssm: dssm, contextual: contextual}}
      - {recommender: session, params: {dssm: dssm}}
"""


def write_report_arms(path: str | Path) -> Path:
    """Write ``REPORT_ARMS`` as an experiment file at ``path``."""
    Path(path).write_text(REPORT_ARMS)
    return Path(path)


def random_report_artifacts(catalog: Catalog, n_users: int, root: str | Path, *, seed: int = 0,
                            dim: int = 16) -> Path:
    """Write ``dssm`` (top-50 per user, 2 per artist, with vectors) and ``contextual`` (top-20 per track)."""
    rng = np.random.default_rng(seed)
    items = rng.normal(size=(catalog.n_tracks, dim)).astype(np.float32)
    users = rng.normal(size=(n_users, dim)).astype(np.float32)
    save_artifact(root, "dssm", "indexed", indexed_arrays(np.arange(n_users), users, items, 50, vectors=True,
                                                          per_artist=2, artist_of=catalog.artist_id), catalog)
    save_artifact(root, "contextual", "item_lists", {"lists": top_k_inner_product(items, items, 20)}, catalog)
    return Path(root)
