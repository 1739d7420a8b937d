"""Build online recommenders by name, as experiment files name them: built-ins, import paths, entry points.

An arm's ``params`` may name an artifact (``artifact: dssm`` for the latest version, or ``dssm/v0003``); it is
loaded and validated from the artifacts root given to the service or the simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botify.artifacts import load_artifact
from botify.errors import ConfigError
from botify.experiments import Arm, ExperimentPlan
from botify.recommenders.base import Recommender
from botify.recommenders.baselines import RandomRecommender, StickyArtistRecommender, TopPopRecommender
from botify.recommenders.course import CourseRecommender, load_course_class
from botify.recommenders.custom import CustomRecommender
from botify.recommenders.interleave import ComponentStore, InterleaveRecommender
from botify.recommenders.lists import ContextualRecommender, IndexedRecommender
from botify.recommenders.mixture import MixtureRecommender
from botify.recommenders.plugins import PluginError, load_recommender_class, probe
from botify.recommenders.session import SessionRecommender
from botify.state import InMemoryStore, StateStore
from botify.world.catalog import Catalog

__all__ = ["RECOMMENDERS", "build_plan_recommenders", "build_recommender", "check_plan_classes"]

RECOMMENDERS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (RandomRecommender, TopPopRecommender, StickyArtistRecommender, IndexedRecommender,
                ContextualRecommender, CustomRecommender, SessionRecommender)
}
_BUILTIN_NAMES = tuple(sorted([*RECOMMENDERS, MixtureRecommender.name, InterleaveRecommender.name,
                             CourseRecommender.name]))
_ARTIFACT_PARAMS = ("artifact", "dssm", "contextual")


def build_recommender(
    name: str, catalog: Catalog, params: dict[str, Any] | None = None, *, random_state: int | None = None,
    artifacts: str | Path | None = None, store: StateStore | None = None, search_path: Path | None = None,
) -> Recommender:
    """Instantiate the recommender called ``name`` with its parameters (loading its artifact, if any).

    ``name`` is a built-in, ``module:Class`` (imported from ``search_path`` first) or an entry point's name.
    """
    if name == MixtureRecommender.name:
        return _build_mixture(catalog, dict(params or {}), random_state=random_state, artifacts=artifacts,
                              search_path=search_path)
    if name == InterleaveRecommender.name:
        return _build_interleave(catalog, dict(params or {}), random_state=random_state, artifacts=artifacts,
                                 store=store, search_path=search_path)
    if name == CourseRecommender.name:
        return CourseRecommender(catalog, random_state=random_state, store=store, search_path=search_path,
                                 artifacts=artifacts, **dict(params or {}))
    cls = RECOMMENDERS.get(name) or load_recommender_class(name, search_path=search_path, builtins=_BUILTIN_NAMES)
    params = dict(params or {})
    for key in _ARTIFACT_PARAMS:
        if key in params:
            if artifacts is None:
                raise ConfigError(f"recommender {name!r} names artifact {params[key]!r}: pass an artifacts "
                                  "directory (`--artifacts DIR`)")
            params[key] = load_artifact(artifacts, str(params[key]), catalog)
    if getattr(cls, "stateful", False):
        params["store"] = store
    try:
        return cls(catalog, random_state=random_state, **params)
    except TypeError as error:
        raise ConfigError(f"bad parameters {params!r} for recommender {name!r}: {error}") from error
    except ConfigError:
        raise
    except Exception as error:  # a plugin's constructor refusing its params
        raise PluginError(f"recommender {name!r} refused its parameters {params!r}: {type(error).__name__}: "
                          f"{error}") from error


def _build_mixture(catalog: Catalog, params: dict[str, Any], *, random_state: int | None,
                   artifacts: str | Path | None, search_path: Path | None) -> Recommender:
    """``mixture``: ``params = {components: [{recommender, params, weight}, ...]}``."""
    specs = params.pop("components", None)
    if params or not isinstance(specs, list) or not specs:
        raise ConfigError("mixture takes one parameter, `components`: a list of {recommender, params, weight}")
    components, weights = [], []
    for spec in specs:
        if not isinstance(spec, dict) or "recommender" not in spec or not isinstance(spec.get("weight"), int | float):
            raise ConfigError(f"a mixture component needs `recommender` and a numeric `weight`, got {spec!r}")
        components.append(build_recommender(spec["recommender"], catalog, spec.get("params"),
                                            random_state=random_state, artifacts=artifacts, search_path=search_path))
        weights.append(float(spec["weight"]))
    return MixtureRecommender(catalog, components=components, weights=weights, random_state=random_state)


def _build_interleave(catalog: Catalog, params: dict[str, Any], *, random_state: int | None,
                      artifacts: str | Path | None, store: StateStore | None,
                      search_path: Path | None) -> Recommender:
    """``interleave``: ``params = {components: [{recommender, params}, ...]}`` (two or more)."""
    shared = store if store is not None else InMemoryStore()
    specs = params.pop("components", None)
    if params or not isinstance(specs, list) or len(specs) < 2:
        raise ConfigError("interleave takes one parameter, `components`: a list of two or more {recommender, params}")
    components = []
    for index, spec in enumerate(specs):
        if isinstance(spec, str):
            spec = {"recommender": spec}
        if not isinstance(spec, dict) or "recommender" not in spec or set(spec) - {"recommender", "params"}:
            raise ConfigError(f"an interleave component is {{recommender, params}}, got {spec!r}")
        components.append(build_recommender(spec["recommender"], catalog, spec.get("params"),
                                            random_state=random_state, artifacts=artifacts,
                                            store=ComponentStore(shared, index),  # type: ignore[arg-type]
                                            search_path=search_path))
    return InterleaveRecommender(catalog, components=components, random_state=random_state)


@contextmanager
def _naming_the_arm(plan: ExperimentPlan, arm: Arm) -> Iterator[None]:
    """Prefix a plugin or configuration error with the experiment file and the arm it comes from."""
    try:
        yield
    except (PluginError, ConfigError) as error:
        where = plan.source if plan.source is not None else "experiment"
        kind = PluginError if isinstance(error, PluginError) else ConfigError
        raise kind(f"{where}: arm {arm.label}: {error}") from error


def check_plan_classes(plan: ExperimentPlan) -> None:
    """Resolve every arm's recommender class now (before a long run needs them); raise ``PluginError`` if one fails."""
    for arm in plan.routing.arms:
        if arm.recommender == CourseRecommender.name:
            with _naming_the_arm(plan, arm):
                load_course_class(str(arm.params.get("class", "")), plan.directory)
        elif arm.recommender not in RECOMMENDERS and arm.recommender != MixtureRecommender.name:
            with _naming_the_arm(plan, arm):
                load_recommender_class(arm.recommender, search_path=plan.directory, builtins=_BUILTIN_NAMES)


def build_plan_recommenders(plan: ExperimentPlan, catalog: Catalog, *, artifacts: str | Path | None = None,
                            store: StateStore | None = None) -> list[Recommender]:
    """The routing experiment's recommenders, in arm order; each plugin is probed first (on a throwaway store)."""
    built = []
    for arm in plan.routing.arms:
        def make(on: StateStore | None, arm_name: str = arm.recommender, params: dict[str, Any] = arm.params) -> \
                Recommender:
            return build_recommender(arm_name, catalog, params, random_state=plan.seed, artifacts=artifacts,
                                     store=on, search_path=plan.directory)

        with _naming_the_arm(plan, arm):
            if arm.recommender not in RECOMMENDERS and arm.recommender != MixtureRecommender.name:
                label = arm.recommender if arm.recommender != CourseRecommender.name else \
                    f"course {arm.params.get('class')}"
                probe(make(InMemoryStore()), label)  # plugins and course classes alike
            built.append(make(store))
    return built
