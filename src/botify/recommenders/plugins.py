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

import importlib
import importlib.metadata
import sys
from pathlib import Path

import numpy as np

from botify.errors import LabError
from botify.recommenders.base import Recommender, Requests

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_recommender_class", "probe"]

ENTRY_POINT_GROUP = "botify.recommenders"
_PROBE_USERS = 8


class PluginError(LabError):
    """A recommender named in an experiment cannot be loaded or answers wrongly at start-up."""


def load_recommender_class(name: str, *, search_path: Path | None = None,
                           builtins: tuple[str, ...] = ()) -> type[Recommender]:
    """The class an arm's ``recommender`` names (an import path or an entry point; built-ins are resolved first)."""
    if ":" in name:
        found = _from_import_path(name, search_path)
    else:
        found = _from_entry_point(name, builtins)
    if not (isinstance(found, type) and issubclass(found, Recommender)):
        raise PluginError(f"recommender {name!r} is {found!r}, not a botify.Recommender subclass")
    return found


def _from_import_path(name: str, search_path: Path | None) -> object:
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise PluginError(f"recommender {name!r}: an import path looks like `module:Class`")
    where = f"{search_path} or sys.path" if search_path is not None else "sys.path"
    added = search_path is not None and str(search_path) not in sys.path
    if added:
        sys.path.insert(0, str(search_path))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise PluginError(f"recommender {name!r}: module {error.name!r} not found (looked in {where})") from error
    except Exception as error:  # the plugin's own import failed: say where
        raise PluginError(f"recommender {name!r}: importing {module_name!r} failed: {type(error).__name__}: "
                          f"{error}") from error
    finally:
        if added:
            sys.path.remove(str(search_path))
    if not hasattr(module, attribute):
        raise PluginError(f"recommender {name!r}: {getattr(module, '__file__', module_name)} has no attribute "
                          f"{attribute!r}")
    return getattr(module, attribute)


def _from_entry_point(name: str, builtins: tuple[str, ...]) -> object:
    points = [p for p in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if p.name == name]
    if not points:
        installed = sorted(p.name for p in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
        raise PluginError(f"unknown recommender {name!r}; expected one of {list(builtins)}, an import path "
                          f"`module:Class`, or a name an installed package registers under {ENTRY_POINT_GROUP!r} "
                          f"(installed: {installed})")
    try:
        return points[0].load()
    except Exception as error:
        raise PluginError(f"recommender {name!r} (entry point {points[0].value}): {type(error).__name__}: "
                          f"{error}") from error


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
