"""Classes from outside the package: an import path ``module:Class``, or a name an installed package registers.

Recommenders (entry-point group ``botify.recommenders``) and trainers (``botify.trainers``) are found the same
way: an import path is resolved from a given folder first (the experiment file's, or the working directory),
then ``sys.path``; any other name is looked up among the group's entry points. What it names must be a subclass
of the expected base class. Every failure is a one-line ``PluginError`` naming what was asked for and why.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from botify.errors import PluginError

__all__ = ["did_you_mean", "load_plugin_class"]


def load_plugin_class(name: str, *, what: str, group: str, base: type[Any], search_path: Path | None = None,
                      builtins: tuple[str, ...] = ()) -> type[Any]:
    """The ``base`` subclass that ``name`` (``module:Class`` or an entry-point name of ``group``) refers to."""
    found = _from_import_path(name, what, search_path) if ":" in name else _from_entry_point(name, what, group,
                                                                                              builtins)
    if not (isinstance(found, type) and issubclass(found, base)):
        raise PluginError(f"{what} {name!r} is {found!r}, not a {base.__module__.split('.')[0]}.{base.__name__} "
                          "subclass")
    return found


def _from_import_path(name: str, what: str, search_path: Path | None) -> object:
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise PluginError(f"{what} {name!r}: an import path looks like `module:Class`")
    where = f"{search_path} or sys.path" if search_path is not None else "sys.path"
    added = search_path is not None and str(search_path) not in sys.path
    if added:
        sys.path.insert(0, str(search_path))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise PluginError(f"{what} {name!r}: module {error.name!r} not found (looked in {where})") from error
    except Exception as error:  # the plugin's own import failed: say where
        raise PluginError(f"{what} {name!r}: importing {module_name!r} failed: {type(error).__name__}: "
                          f"{error}") from error
    finally:
        if added:
            sys.path.remove(str(search_path))
    if not hasattr(module, attribute):
        raise PluginError(f"{what} {name!r}: {getattr(module, '__file__', module_name)} has no attribute "
                          f"{attribute!r}")
    return getattr(module, attribute)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'sticky_artist'?)"`` when a known name is close to ``name``, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _from_entry_point(name: str, what: str, group: str, builtins: tuple[str, ...]) -> object:
    points = [p for p in importlib.metadata.entry_points(group=group) if p.name == name]
    if not points:
        installed = sorted(p.name for p in importlib.metadata.entry_points(group=group))
        raise PluginError(f"unknown {what} {name!r}{did_you_mean(name, [*builtins, *installed])}; expected one of "
                          f"{list(builtins)}, an import path "
                          f"`module:Class`, or a name an installed package registers under {group!r} "
                          f"(installed: {installed})")
    try:
        return points[0].load()
    except Exception as error:
        raise PluginError(f"{what} {name!r} (entry point {points[0].value}): {type(error).__name__}: "
                          f"{error}") from error
