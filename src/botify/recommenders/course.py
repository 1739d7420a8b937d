"""``course``: a recommender written for the course, ``recommend_next(user, prev_track, prev_track_time)``, as is.

An experiment arm names the class and what its constructor gets, as the course's server would pass it::

    - recommender: course
      params:
        class: "homework:MyRecommender"        # homework.py beside the experiment file
        args: [tracks, recommendations, catalog, random]
        stores:
          recommendations: {file: recommendations_ub.json}   # or {artifact: dssm}
        top_tracks: top_tracks.json            # optional: TopPop's list (default: the 100 most popular)
        track_recommendations: {artifact: contextual}        # optional: fills each Track's recommendations

The module is loaded as ``botify.course.recommenders.homework``, so the course's relative imports
(``from .recommender import Recommender``, ``from .random import Random``, ``from .toppop import TopPop``) work.
Constructor arguments (``args``, ``kwargs``) name the course's objects: ``tracks`` (every track, pickled, under its
id), ``artists`` (every artist's name with its track ids), ``catalog`` (``from_bytes``, ``top_tracks``),
``top_tracks`` (a list; ``top_tracks[:N]`` for its first N), ``random`` (``Random(tracks)``), each name of
``stores``, or ``{value: X}`` for a literal. The stores are Redis-compatible: on the real Redis that ``--state``
names, in this process otherwise.

Each request seeds Python's ``random`` (and numpy's global generator) from ``(random_state, user, session, step)``,
so the same seed gives the same answers in-process and over HTTP, as for every arm. The answer must be an int track
id of the catalog; the class cannot state a policy, so the logged propensity is unknown.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from typing_extensions import override

from botify.artifacts import load_artifact
from botify.course.files import from_arrays, read_file, read_top_tracks
from botify.course.recommenders.random import Random
from botify.course.store import CourseRedis
from botify.course.track import Catalog as CourseCatalog
from botify.course.track import Track
from botify.errors import ConfigError, PluginError
from botify.recommenders.base import StatefulRecommender
from botify.state import StateStore
from botify.world.catalog import Catalog
from botify.world.seeding import counter_state

__all__ = ["CourseRecommender"]

_PACKAGE = "botify.course.recommenders"
_SLICE = re.compile(r"^(\w+)\[:(\d+)\]$")
_TOP = 100


def load_course_class(spec: str, folder: Path | None) -> type[Any]:
    """``"module:Class"``: ``module.py`` in ``folder`` loaded as a module of the course's recommenders package."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name or not module_name.isidentifier():
        raise ConfigError(f"`class` must look like 'module:Class' (module.py beside the experiment file), got {spec!r}")
    path = (folder or Path.cwd()) / f"{module_name}.py"
    if not path.is_file():
        raise PluginError(f"course class {spec!r}: no {path}")
    qualified = f"{_PACKAGE}.{module_name}"
    module_spec = importlib.util.spec_from_file_location(qualified, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[qualified] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[qualified]
        raise PluginError(f"course class {spec!r}: importing {path} failed: {type(error).__name__}: {error}") \
            from error
    found = getattr(module, class_name, None)
    if not isinstance(found, type) or not callable(getattr(found, "recommend_next", None)):
        raise PluginError(f"course class {spec!r}: {path} has no class {class_name!r} with a recommend_next method")
    return found


class CourseRecommender(StatefulRecommender):
    """Serves a course-style class (see the module docstring)."""

    name: ClassVar[str] = "course"

    def __init__(self, catalog: Catalog, *, random_state: int | None = None, store: StateStore | None = None,
                 search_path: Path | None = None, artifacts: str | Path | None = None, **params: Any) -> None:
        super().__init__(catalog, store=store, random_state=random_state)
        unknown = set(params) - {"class", "args", "kwargs", "stores", "top_tracks", "track_recommendations"}
        if unknown or "class" not in params:
            raise ConfigError(f"course takes `class` (required), `args`, `kwargs`, `stores`, `top_tracks` and "
                              f"`track_recommendations`; got {sorted(params)}")
        self.params = params
        self._folder, self._artifacts = search_path, artifacts
        url = getattr(self.store, "url", None)  # a RedisStore: the course's stores live on the same Redis
        objects = self._objects(url if isinstance(url, str) else None)
        cls = load_course_class(str(params["class"]), search_path)
        args = [self._resolve(spec, objects) for spec in self._list(params.get("args", []), "args")]
        kwargs = {name: self._resolve(spec, objects) for name, spec in self._mapping("kwargs").items()}
        try:
            self.instance = cls(*args, **kwargs)
        except Exception as error:
            raise PluginError(f"course class {params['class']!r} refused its arguments: {type(error).__name__}: "
                              f"{error}") from error

    @staticmethod
    def _list(value: Any, what: str) -> list[Any]:
        if not isinstance(value, list):
            raise ConfigError(f"course `{what}` must be a list, got {value!r}")
        return value

    def _mapping(self, what: str) -> dict[str, Any]:
        value = self.params.get(what, {})
        if not isinstance(value, dict):
            raise ConfigError(f"course `{what}` must be a mapping, got {value!r}")
        return value

    def _path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else (self._folder or Path.cwd()) / path

    def _lists(self, source: Any, what: str) -> dict[int, list[int]]:
        """Lists by key from ``{file: F}`` (a course file) or ``{artifact: A}`` (an indexed or item_lists one)."""
        if isinstance(source, dict) and set(source) == {"file"}:
            path = self._path(str(source["file"]))
            kind, content = read_file(path, self.catalog.n_tracks)
        elif isinstance(source, dict) and set(source) == {"artifact"}:
            if self._artifacts is None:
                raise ConfigError(f"course `{what}` names artifact {source['artifact']!r}: pass `--artifacts DIR`")
            artifact = load_artifact(self._artifacts, str(source["artifact"]), self.catalog)
            kind, content = from_arrays(artifact.kind, artifact.arrays)
            path = self._artifacts / Path(artifact.ref)
        else:
            raise ConfigError(f"course `{what}` must be {{file: PATH}} or {{artifact: NAME}}, got {source!r}")
        if not isinstance(content, dict):
            raise ConfigError(f"course `{what}`: {path} is a {kind} list, not lists by key")
        return content

    def _objects(self, url: str | None) -> dict[str, Any]:
        catalog = self.catalog
        top = self.params.get("top_tracks")
        top_tracks = read_top_tracks(self._path(str(top)), catalog.n_tracks) if top is not None else \
            [int(t) for t in np.argsort(-catalog.popularity, kind="stable")[:_TOP]]
        tracks = [Track(t, catalog.artist_names[int(catalog.artist_id[t])], catalog.title[t],
                        genre=catalog.genre_names[int(catalog.genre_id[t])],
                        popularity=float(catalog.popularity[t]), artist_id=int(catalog.artist_id[t]))
                  for t in range(catalog.n_tracks)]
        course_catalog = CourseCatalog(tracks, top_tracks)
        if "track_recommendations" in self.params:
            course_catalog = course_catalog.with_recommendations(
                self._lists(self.params["track_recommendations"], "track_recommendations"))
        tracks_redis, artists_redis = CourseRedis("tracks", url), CourseRedis("artists", url)
        course_catalog.upload_tracks(tracks_redis)
        course_catalog.upload_artists(artists_redis)
        objects: dict[str, Any] = {"tracks": tracks_redis, "artists": artists_redis, "catalog": course_catalog,
                                   "top_tracks": top_tracks, "random": Random(tracks_redis)}
        for name, source in self._mapping("stores").items():
            if name in objects:
                raise ConfigError(f"course store {name!r} would hide the course object of that name")
            redis = CourseRedis(name, url)
            course_catalog.upload_recommendations(redis, self._lists(source, f"stores.{name}"))
            objects[name] = redis
        return objects

    @staticmethod
    def _resolve(spec: Any, objects: dict[str, Any]) -> Any:
        if isinstance(spec, dict) and set(spec) == {"value"}:
            return spec["value"]
        if isinstance(spec, str):
            sliced = _SLICE.match(spec)
            name = sliced.group(1) if sliced else spec
            if name in objects:
                value = objects[name]
                return value[:int(sliced.group(2))] if sliced else value
        raise ConfigError(f"course argument {spec!r}: expected one of {sorted(objects)} (a list may be sliced, "
                          "e.g. top_tracks[:100]) or {value: ...}")

    @override
    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        seed = counter_state(self.random_state, user, session, step)
        random.seed(seed)
        np.random.seed(seed & 0xFFFFFFFF)
        answer = self.instance.recommend_next(user, track, time)
        if isinstance(answer, bool) or not isinstance(answer, int | np.integer):
            raise PluginError(f"{self.params['class']}.recommend_next answered {answer!r} "
                              f"({type(answer).__name__}); expected an int track id")
        return int(answer)

    @override
    def parameters(self) -> dict[str, Any]:
        return dict(self.params)
