"""Recommenders from outside the package: an import path in an experiment file, or an installed entry point.

An arm's ``recommender`` is a built-in name (``random``, ``custom``, ...), an import path ``module:Class`` —
resolved from the experiment file's folder first, then ``sys.path`` — or a name that an installed package
registers under the entry-point group ``botify.recommenders``. Whatever it names must be a ``Recommender``
subclass.

Every recommender is probed before anything is served (``probe``): a fresh instance, on a throwaway state store,
answers a small batch and single requests; a wrong shape, a non-integer or a track outside the catalog stops
the start with a one-line ``PluginError`` that names the recommender and what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from botify.errors import PluginError
from botify.plugins import load_plugin_class
from botify.recommenders.base import Recommender, Requests

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_recommender_class", "probe"]

ENTRY_POINT_GROUP = "botify.recommenders"
_PROBE_USERS = 8


def load_recommender_class(name: str, *, search_path: Path | None = None,
                           builtins: tuple[str, ...] = ()) -> type[Recommender]:
    """The class an arm's ``recommender`` names (an import path or an entry point; built-ins are resolved first)."""
    return load_plugin_class(name, what="recommender", group=ENTRY_POINT_GROUP, base=Recommender,
                             search_path=search_path, builtins=builtins)


def probe(recommender: Recommender, label: str) -> None:
    """Ask a fresh instance a few requests; raise ``PluginError`` unless every answer is a track of the catalog."""
    n_tracks = recommender.catalog.n_tracks
    users = np.arange(_PROBE_USERS, dtype=np.int64)
    requests = Requests(user=users, track=users % n_tracks, time=np.ones(_PROBE_USERS),
                        session=np.zeros(_PROBE_USERS, np.int64), step=np.zeros(_PROBE_USERS, np.int64))
    try:
        batch = np.asarray(recommender.recommend_batch(requests))
        single = recommender.recommend(_PROBE_USERS, 0, 1.0, 0, 0)
    except Exception as error:
        raise PluginError(f"recommender {label!r} failed on a probe request: {type(error).__name__}: {error}") \
            from error
    if batch.shape != (_PROBE_USERS,):
        raise PluginError(f"recommender {label!r} answered a batch of {_PROBE_USERS} requests with shape "
                          f"{batch.shape}; expected ({_PROBE_USERS},)")
    if not np.issubdtype(batch.dtype, np.integer):
        raise PluginError(f"recommender {label!r} answered with {batch.dtype} values; expected integer track ids")
    if isinstance(single, bool) or not isinstance(single, int | np.integer):
        raise PluginError(f"recommender {label!r} answered a single request with {single!r}; expected an int")
    outside = [int(t) for t in [*batch.tolist(), int(single)] if not 0 <= int(t) < n_tracks]
    if outside:
        raise PluginError(f"recommender {label!r} answered {len(outside)} of {_PROBE_USERS + 1} probe requests "
                          f"with tracks outside the catalog 0..{n_tracks - 1}, e.g. {outside[0]}")
