"""Train a model from logs end to end: evaluate offline on a per-user time split, serve what was evaluated, export.

Every model is evaluated the same way: fitted on the first 80 % of each user's interactions, scored with
recall@100 and NDCG@100 on the positives of the last 20 %, beside TopPop fitted on the same part. The model
evaluated is the model exported when its serving state is read from the logs rather than learnt
(``OfflineModel.serve_history``: DSSM's users' bags, Contextual's context tracks): that state is read from all
the logs, the weights stay those the metrics describe, and no second fit runs. Other models (TopPop, ALS, plugins)
are refitted on everything, as every model is with ``refit=True`` (``botify train --refit``; DSSM and Contextual
then train on all the logs for the evaluation's best epoch count). On the demo's collection day serving the
evaluated models took 0.6× the training time of a refit, and the A/B day's effect stayed inside the refit's
interval (docs/scaling.md). The manifest records parameters, data window, log quality, metrics and ``refit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.artifacts import Artifact, ArtifactError, save_artifact
from botify.errors import ConfigError, PluginError
from botify.logs.reader import LogReadReport
from botify.plugins import did_you_mean, load_plugin_class
from botify.progress import ProgressCallback
from botify.train.base import OfflineModel
from botify.train.dataset import Interactions, time_split
from botify.train.metrics import RankingMetrics, ranking_metrics
from botify.train.provenance import provenance
from botify.train.toppop import TopPopModel
from botify.train.trainer import TRAINER_GROUP, PluginModel, Trainer
from botify.world.catalog import Catalog

__all__ = ["DSSM_PER_ARTIST", "MODELS", "ModelSpec", "TrainResult", "resolve_model", "train_model"]

# DSSM's nearest tracks come from a user's two or three favourite artists; taken in order (the report's
# custom recommender) each repeat of an artist is listened to less (artist fatigue, γ = 0.8), so the exported
# lists keep at most this many tracks per artist, still nearest first.
DSSM_PER_ARTIST = 2


@dataclass(frozen=True)
class ModelSpec:
    """How to build, export and serve one named model (``name`` is its artifact's name)."""

    kind: str
    build: Callable[[Catalog, int, ProgressCallback | None], OfflineModel]
    export: Callable[[Any], dict[str, npt.NDArray[Any]]]
    description: str
    name: str = ""
    plugin: str | None = None


def _dssm(loss: str) -> Callable[[Catalog, int, ProgressCallback | None], OfflineModel]:
    def build(catalog: Catalog, seed: int, progress: ProgressCallback | None) -> OfflineModel:
        from botify.train.dssm import DSSM

        return DSSM(catalog, loss=loss, item_id=True, random_state=seed, progress=progress)  # type: ignore[arg-type]

    return build


def _contextual(context: str) -> Callable[[Catalog, int, ProgressCallback | None], OfflineModel]:
    def build(catalog: Catalog, seed: int, progress: ProgressCallback | None) -> OfflineModel:
        from botify.train.contextual import Contextual

        return Contextual(catalog, context=context, random_state=seed, progress=progress)  # type: ignore[arg-type]

    return build


def _als(catalog: Catalog, seed: int, progress: ProgressCallback | None) -> OfflineModel:
    from botify.train.als import ALS

    return ALS(catalog, random_state=seed)


_BUILT_IN: dict[str, ModelSpec] = {
    "toppop": ModelSpec("popularity", lambda c, s, p: TopPopModel(c, random_state=s),
                        lambda m: {"popularity": m.play_counts}, "play counts per track"),
    "dssm": ModelSpec("indexed", _dssm("softmax"), lambda m: m.export(100, per_artist=DSSM_PER_ARTIST),
                      "two-tower, in-batch sampled softmax; top-100 per user, at most 2 per artist"),
    "dssm-triplet": ModelSpec("indexed", _dssm("triplet"), lambda m: m.export(100, per_artist=DSSM_PER_ARTIST),
                              "two-tower, the reference's triplet loss with random negatives; top-100 per user, "
                              "at most 2 per artist"),
    "als": ModelSpec("indexed", _als, lambda m: m.export(100), "implicit ALS on listened time; top-100 per user"),
    "contextual": ModelSpec("item_lists", _contextual("first"), lambda m: m.export(50),
                            "the reference's session pairs (first track -> later tracks); top-50 per track"),
    "contextual-diverse": ModelSpec(
        "item_lists", _contextual("user"), lambda m: m.export(50, per_artist=2),
        "pairs of a user's liked tracks across sessions; top-50 per track, at most 2 per artist"),
}


MODELS: dict[str, ModelSpec] = {name: replace(spec, name=name) for name, spec in _BUILT_IN.items()}


def resolve_model(name: str, catalog: Catalog, params: dict[str, Any] | None = None, *,
                  search_path: Path | None = None) -> ModelSpec:
    """A built-in model, or a ``Trainer`` plugin (``module:Class`` or an entry point of ``botify.trainers``).

    A plugin is built once here, so a missing module, a class that is not a ``Trainer`` or parameters its
    constructor rejects fail before any log is read.
    """
    if name in MODELS:
        if params:
            raise ConfigError(f"built-in model {name!r} takes no --params")
        return MODELS[name]
    trainer_class = load_plugin_class(name, what="trainer", group=TRAINER_GROUP, base=Trainer,
                                      search_path=search_path, builtins=tuple(sorted(MODELS)))
    params = dict(params or {})

    def build(catalog: Catalog, seed: int, progress: ProgressCallback | None) -> OfflineModel:
        try:
            trainer = trainer_class(catalog, random_state=seed, **params)
        except Exception as error:
            raise PluginError(f"trainer {name!r} rejects the parameters {params}: {type(error).__name__}: "
                              f"{error}") from error
        return PluginModel(trainer, name)

    if not isinstance(getattr(trainer_class, "name", None), str) or not trainer_class.name:
        raise PluginError(f"trainer {name!r} must declare a class attribute `name` (its artifact's name)")
    build(catalog, 0, None)  # the constructor accepts the parameters, the kind is known
    description = (trainer_class.__doc__ or name).strip().splitlines()[0]
    return ModelSpec(trainer_class.kind, build, lambda model: model.export(), description, name=trainer_class.name,
                     plugin=name)


def _refit(spec: ModelSpec, catalog: Catalog, data: Interactions, evaluated: OfflineModel, seed: int,
           progress: ProgressCallback | None, threads: int | None) -> OfflineModel:
    final = _build(spec, catalog, seed, progress, threads)
    best_epochs = getattr(evaluated, "best_epochs_", 0)
    if best_epochs and hasattr(final, "fixed_epochs"):
        # The evaluation run found when to stop; the final run trains that long on all the data, unvalidated.
        final.fixed_epochs = best_epochs
    return final.fit(data)


@dataclass(frozen=True)
class TrainResult:
    """The saved artifact and the offline comparison."""

    artifact: Artifact
    metrics: RankingMetrics
    toppop: RankingMetrics
    seconds: float

    def describe(self) -> str:
        """One line for the terminal."""
        return (f"{self.artifact.ref}: recall@100 {self.metrics.recall:.4f} (TopPop {self.toppop.recall:.4f}), "
                f"NDCG@100 {self.metrics.ndcg:.4f} (TopPop {self.toppop.ndcg:.4f}), "
                f"{self.metrics.users:,} users, {self.seconds:.0f} s")


def _evaluate(model: OfflineModel, test: Interactions) -> RankingMetrics:
    positive = test.positives()
    users = np.unique(positive.user)
    return ranking_metrics(model.recommend(users, 100), users, positive.user, positive.track)


def _build(spec: ModelSpec, catalog: Catalog, seed: int, progress: ProgressCallback | None,
           threads: int | None) -> OfflineModel:
    model = spec.build(catalog, seed, progress)
    if threads is not None and hasattr(model, "threads"):  # the built-ins' thread count is a plain attribute
        model.threads = threads
    return model


def train_model(model: str | ModelSpec, catalog: Catalog, data: Interactions, out: str | Path, *, seed: int = 0,
                report: LogReadReport | None = None, progress: ProgressCallback | None = None,
                threads: int | None = None, refit: bool = False) -> TrainResult:
    """Evaluate ``model`` offline, make it serve all of ``data`` and save its artifact under ``out``.

    The evaluated model serves when it can read its serving state from ``data`` (see the module docstring);
    otherwise, or with ``refit``, a new fit on all of ``data`` is saved. ``threads`` overrides the thread count
    of models that have one (the artifact's parameters record it).
    """
    if isinstance(model, str) and model not in MODELS:
        raise ConfigError(f"unknown model {model!r}{did_you_mean(model, MODELS)}; expected one of {sorted(MODELS)}")
    spec = MODELS[model] if isinstance(model, str) else model
    name = spec.name
    started = time.perf_counter()
    train, test = time_split(data, 0.2)
    evaluated = _build(spec, catalog, seed, progress, threads).fit(train)
    metrics = _evaluate(evaluated, test)
    baseline = _evaluate(TopPopModel(catalog).fit(train), test)
    refitted = refit or not evaluated.serve_history(data)
    final = _refit(spec, catalog, data, evaluated, seed, progress, threads) if refitted else evaluated
    logs = {"files": [str(p) for p in report.files], "lines": report.lines, "malformed": report.malformed} \
        if report else {}
    try:
        artifact = save_artifact(
            out, name, spec.kind, spec.export(final), catalog, model=final.name, description=spec.description,
            parameters=final.get_config(), data_window=data.window(), logs=logs, refit=refitted,
            reproduce=provenance(data, seed, final.get_config()),
            metrics={"split": "per-user time split, last 20% held out; positives: time > 0.8",
                     name: metrics.to_dict(), "toppop": baseline.to_dict()},
            **({"plugin": spec.plugin} if spec.plugin else {}),
        )
    except ArtifactError as error:
        if spec.plugin is None:
            raise
        raise PluginError(f"trainer {spec.plugin!r} exported arrays that do not fit kind {spec.kind!r}: "
                          f"{error}") from error
    return TrainResult(artifact, metrics, baseline, time.perf_counter() - started)
