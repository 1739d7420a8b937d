"""Train a model from logs end to end: evaluate offline on a per-user time split, refit on all data, export.

Every model is evaluated the same way: fitted on the first 80 % of each user's interactions, scored with
recall@100 and NDCG@100 on the positives of the last 20 %, beside TopPop fitted on the same part. The exported
model is then refitted on everything. The manifest records parameters, data window, log quality and metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.ab.logs import LogReadReport
from botify.artifacts import Artifact, save_artifact
from botify.errors import ConfigError
from botify.train.base import OfflineModel
from botify.train.dataset import Interactions, time_split
from botify.train.metrics import RankingMetrics, ranking_metrics
from botify.train.provenance import provenance
from botify.train.toppop import TopPopModel
from botify.world.catalog import Catalog

__all__ = ["DSSM_PER_ARTIST", "MODELS", "ModelSpec", "TrainResult", "train_model"]

# DSSM's nearest tracks come from a user's two or three favourite artists; taken in order (the report's
# custom recommender) each repeat of an artist is listened to less (artist fatigue, γ = 0.8), so the exported
# lists keep at most this many tracks per artist, still nearest first.
DSSM_PER_ARTIST = 2


@dataclass(frozen=True)
class ModelSpec:
    """How to build, export and serve one named model."""

    kind: str
    build: Callable[[Catalog, int, bool], OfflineModel]
    export: Callable[[Any], dict[str, npt.NDArray[Any]]]
    description: str


def _dssm(loss: str) -> Callable[[Catalog, int, bool], OfflineModel]:
    def build(catalog: Catalog, seed: int, progress: bool) -> OfflineModel:
        from botify.train.dssm import DSSM

        return DSSM(catalog, loss=loss, item_id=True, random_state=seed, show_progress=progress)  # type: ignore[arg-type]

    return build


def _contextual(context: str) -> Callable[[Catalog, int, bool], OfflineModel]:
    def build(catalog: Catalog, seed: int, progress: bool) -> OfflineModel:
        from botify.train.contextual import Contextual

        return Contextual(catalog, context=context, random_state=seed, show_progress=progress)  # type: ignore[arg-type]

    return build


def _als(catalog: Catalog, seed: int, progress: bool) -> OfflineModel:
    from botify.train.als import ALS

    return ALS(catalog, random_state=seed)


MODELS: dict[str, ModelSpec] = {
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


def train_model(name: str, catalog: Catalog, data: Interactions, out: str | Path, *, seed: int = 0,
                report: LogReadReport | None = None, show_progress: bool = True) -> TrainResult:
    """Evaluate ``name`` offline, refit it on all of ``data`` and save its artifact under ``out``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    spec = MODELS[name]
    started = time.perf_counter()
    train, test = time_split(data, 0.2)
    evaluated = spec.build(catalog, seed, show_progress).fit(train)
    metrics = _evaluate(evaluated, test)
    baseline = _evaluate(TopPopModel(catalog).fit(train), test)
    final = spec.build(catalog, seed, show_progress).fit(data)
    logs = {"files": [str(p) for p in report.files], "lines": report.lines, "malformed": report.malformed} \
        if report else {}
    artifact = save_artifact(
        out, name, spec.kind, spec.export(final), catalog, model=final.name, description=spec.description,
        parameters=final.get_config(), data_window=data.window(), logs=logs,
        reproduce=provenance(data, seed, final.get_config()),
        metrics={"split": "per-user time split, last 20% held out; positives: time > 0.8",
                 name: metrics.to_dict(), "toppop": baseline.to_dict()},
    )
    return TrainResult(artifact, metrics, baseline, time.perf_counter() - started)
