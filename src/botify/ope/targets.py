"""The candidate arms an OPE study estimates, the logging mixture over them, and one arm's estimates from the logs.

A stateless target states its policy: ``π(a | x)`` is its probability of the logged action, and DM averages the
reward model over ``DM_DRAWS`` draws of the target at each logged context. The report's custom recommender and our
session recommender are stateful: they cannot state a policy, but they are deterministic given their session state,
so their choice at each logged context is replayed along the logged session and ``π(a | x) = [choice == a]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.artifacts import read_manifest
from botify.experiments import ExperimentPlan
from botify.ope.decisions import Decisions
from botify.ope.estimators import Estimate, Logged, estimate_all
from botify.ope.reward import RewardModel
from botify.recommenders.base import Recommender, Requests
from botify.recommenders.registry import build_recommender
from botify.world.catalog import Catalog

__all__ = ["DM_DRAWS", "REPLAYED", "TARGETS", "arm_label", "estimate_arm", "mixture_plan", "offline_metrics",
           "one_arm_plan", "replay", "target_logged"]

# The seminar's arms (the report's control is its DSSM arm); weights of the logging mixture.
TARGETS: list[tuple[str, dict[str, Any], float]] = [
    ("random", {}, 0.10),
    ("sticky_artist", {}, 0.15),
    ("toppop", {"artifact": "toppop"}, 0.10),
    ("indexed", {"artifact": "als"}, 0.15),
    ("indexed", {"artifact": "dssm"}, 0.20),
    ("contextual", {"artifact": "contextual"}, 0.15),
    ("contextual", {"artifact": "contextual-diverse"}, 0.15),
]
# Stateful and deterministic given their session state: replayed along the logged sessions.
REPLAYED: list[tuple[str, dict[str, Any]]] = [
    ("custom", {"dssm": "dssm", "contextual": "contextual", "threshold": 0.1, "probability": 0.3}),
    ("session", {"dssm": "dssm"}),
]
DM_DRAWS = 8


def arm_label(name: str, params: dict[str, Any]) -> str:
    """An arm's name in tables: the recommender, and its artifact when it has one."""
    return f"{name}({params['artifact']})" if "artifact" in params else name


def one_arm_plan(name: str, params: dict[str, Any], seed: int) -> ExperimentPlan:
    """An experiment with one arm (the arm's truth is measured with it)."""
    return ExperimentPlan.from_dict({"seed": seed, "experiments": [
        {"name": "OPE", "arms": [{"recommender": name, "params": params}]}]})


def mixture_plan(seed: int) -> ExperimentPlan:
    """The logged day's policy: every request answered by one of ``TARGETS``, drawn with its weight."""
    mixture = {"components": [{"recommender": n, "params": p, "weight": w} for n, p, w in TARGETS]}
    return one_arm_plan("mixture", mixture, seed)


def replay(recommender: Recommender, requests: Requests) -> npt.NDArray[np.int64]:
    """A stateful recommender's choice at each logged context, its state fed by the logged session so far.

    Rows must be in session order. Along the steps where it agreed with the log, this is exactly what it would
    have answered online; after the first disagreement its state has seen tracks it did not choose (the
    session estimators weigh those steps by 0 anyway).
    """
    return np.array([recommender.recommend(u, t, x, s, k) for u, t, x, s, k in zip(
        requests.user.tolist(), requests.track.tolist(), requests.time.tolist(), requests.session.tolist(),
        requests.step.tolist(), strict=True)], dtype=np.int64)


def offline_metrics(artifacts: Path, params: dict[str, Any]) -> tuple[float | None, float | None]:
    """recall@100 and NDCG@100 from the arm's model manifest (None for arms without a model, and TopPop)."""
    artifact = params.get("artifact")
    if artifact is None or artifact == "toppop":
        return None, None
    metrics = read_manifest(artifacts, str(artifact)).get("metrics", {}).get(artifact, {})
    return metrics.get("recall@100"), metrics.get("ndcg@100")


def target_logged(target: Recommender, copies: list[Recommender], decisions: Decisions,
                  model: RewardModel) -> Logged:
    """What the estimators need of one target arm: its probability of each logged action, and DM's values.

    A stateless target states its policy (DM averages the reward model over ``copies``' draws); a stateful one is
    replayed along the logged sessions, ``π(a | x) = [its choice = a]``.
    """
    probability = target.probability_batch(decisions.requests, decisions.action)
    if probability is None:  # stateful and deterministic: replay it
        choice = replay(target, decisions.requests)
        probability = (choice == decisions.action).astype(np.float64)
        dm_value = model.predict(decisions.requests, choice)
    else:
        dm_value = np.mean([model.predict(decisions.requests, copy.recommend_batch(decisions.requests))
                            for copy in copies], axis=0)
    return Logged(decisions.reward, decisions.propensity, probability, decisions.session,
                  model.predict(decisions.requests, decisions.action), dm_value)


def estimate_arm(name: str, params: dict[str, Any], catalog: Catalog, decisions: Decisions, model: RewardModel, *,
                 artifacts: Path, seed: int, resamples: int) -> list[Estimate]:
    """Every estimator's value of one target arm from the logged ``decisions``, with bootstrap intervals."""
    copies = DM_DRAWS + 1 if (name, params) not in REPLAYED else 1
    # Seeds apart from the logging mixture's: a target sharing its counter-based draws would agree with the logged
    # choices far more often than chance, and the importance weights would lie.
    build = [build_recommender(name, catalog, params, random_state=seed + 1000 + k, artifacts=artifacts)
             for k in range(copies)]
    return estimate_all(target_logged(build[0], build[1:], decisions, model), resamples=resamples, seed=seed)
