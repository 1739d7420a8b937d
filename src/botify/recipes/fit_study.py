"""``botify fit study``: how well a world fitted to one logged day predicts the true A/B results.

1. A hidden world T (any world directory; the study reads its truth only to play it and to score the fit).
2. The seminar's models, trained from an in-process exploration day of T (as the OPE study does).
3. One logged day of T with the OPE study's exploration mixture (with the return model on: ``days`` days).
4. A world F fitted from those logs and T's public catalog alone (``botify.fit``).
5. One A/B experiment — every arm of the OPE study, the seminar's Random as control — played in T (the truth) and
   in F (the prediction) on episodes and a seed the log never saw; per arm the effect on
   ``mean_time_per_session`` in % of the control with its Welch interval, in each world.
6. Beside it, from the same logs: the OPE estimators (``botify.ope``) and the models' recall/NDCG@100;
   and the fit's parameter recovery against T's truth.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from scipy.stats import kendalltau, pearsonr, spearmanr

from botify.ab.metrics import user_metrics
from botify.ab.table import Comparison, compare_arms
from botify.experiments import ExperimentPlan
from botify.fit import FitSettings, fit_world, read_fit_data, write_fitted_world
from botify.fit.world_fit import FittedWorld
from botify.ope import REPLAYED, TARGETS, Estimate, RewardModel, estimate_arm, mixture_plan, read_decisions
from botify.ope.targets import arm_label, offline_metrics
from botify.progress import ProgressCallback
from botify.recipes.models import SEMINAR_MODELS, ensure_report_models
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.days import play_days
from botify.sim.engine import SessionResults
from botify.sim.world import SimWorld, load_sim_world
from botify.world.truth import nearest_by_inner_product

__all__ = ["ArmOutcome", "FitStudyOptions", "FitStudyResult", "Recovery", "run_fit_study"]

_AB_OFFSET = 70_000_000
_METRIC = "mean_time_per_session"
SESSION_ESTIMATORS = ("session PDIS", "session SNPDIS")
DECISION_ESTIMATORS = ("IPS", "SNIPS", "DM", "DR")


@dataclass(frozen=True)
class FitStudyOptions:
    """Sizes, seeds and places of one study."""

    out: Path
    log_episodes: int = 100_000
    ab_episodes: int = 100_000
    collect_episodes: int = 200_000
    days: int = 14
    """Days of the logged run and of T's A/B run when T has the return model."""
    seed: int = 7
    resamples: int = 100
    settings: FitSettings = field(default_factory=FitSettings)
    artifacts: Path | None = None
    """The seminar's models; default OUT/artifacts (trained there when missing)."""


@dataclass(frozen=True)
class ArmOutcome:
    """One arm: its true and predicted effect against the control, and the offline estimates from the logs."""

    label: str
    truth: Comparison | None
    predicted: Comparison | None
    truth_mean: float
    predicted_mean: float
    estimates: list[Estimate]
    recall: float | None
    ndcg: float | None

    def estimate(self, name: str) -> float:
        """The named OPE estimate's value."""
        return next(e.value for e in self.estimates if e.estimator == name)


@dataclass(frozen=True)
class Recovery:
    """The fitted parameters against T's: correlations over the users the logs saw, and taste overlap."""

    bias_correlation: float
    sharpness_correlation: float
    neighbour_overlap: float
    """Mean share of a user's 100 best tracks under T that are among their 100 best under F (sampled users)."""
    chance_overlap: float
    """The same share for a random set of 100 tracks: what no recovery gives."""
    true_budget: float
    fitted_budget: int
    true_gamma: float
    fitted_gamma: float
    pairs: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = field(default_factory=dict)
    """``b`` and ``log s`` of the sampled users, (true, fitted), for the recovery plot."""


@dataclass(frozen=True)
class FitStudyResult:
    """Everything the report shows."""

    world: str
    arms: list[ArmOutcome]
    fitted: FittedWorld
    recovery: Recovery
    seconds: dict[str, float]
    log_summary: dict[str, int]
    returns: bool

    def treatments(self) -> list[ArmOutcome]:
        """The arms compared with the control."""
        return [a for a in self.arms if a.truth is not None]

    def effect_errors(self) -> npt.NDArray[np.float64]:
        """|predicted − true effect| in percentage points, per treatment."""
        return np.array([abs(a.predicted.effect - a.truth.effect) for a in self.treatments()
                         if a.predicted is not None and a.truth is not None])

    def covered(self) -> int:
        """Treatments whose predicted 95 % interval contains the true effect."""
        return sum(1 for a in self.treatments() if a.predicted is not None and a.truth is not None
                   and a.predicted.lower <= a.truth.effect <= a.predicted.upper)

    def ranking(self, values: list[float]) -> tuple[float, float]:
        """Spearman and Kendall of ``values`` (one per arm) with the true arms' mean session time."""
        truth = [a.truth_mean for a in self.arms]
        return float(spearmanr(values, truth).statistic), float(kendalltau(values, truth).statistic)

    def estimator_rows(self) -> list[tuple[str, float, float, float]]:
        """Per predictor: Spearman, Kendall and (for predictors of session time) median |effect error| in pp."""
        control = self.arms[0]
        rows = [("fitted world", *self.ranking([a.predicted_mean for a in self.arms]),
                 float(np.median(self.effect_errors())))]
        for name in (*DECISION_ESTIMATORS, *SESSION_ESTIMATORS):
            values = [a.estimate(name) for a in self.arms]
            error = float("nan")
            if name in SESSION_ESTIMATORS and control.estimate(name) > 0:
                effects = [100 * (a.estimate(name) / control.estimate(name) - 1) for a in self.treatments()]
                error = float(np.median([abs(e - a.truth.effect) for e, a in zip(effects, self.treatments(),
                                                                                  strict=True) if a.truth]))
            rows.append((name, *self.ranking(values), error))
        for name in ("recall@100", "NDCG@100"):
            pairs = [(a.recall if name == "recall@100" else a.ndcg, a.truth_mean) for a in self.arms]
            values, truth = [v for v, _ in pairs if v is not None], [t for v, t in pairs if v is not None]
            enough = len(values) > 2  # fewer arms with a model (stand-in artifacts) rank nothing
            rows.append((f"{name} ({len(values)} arms with a model)",
                         float(spearmanr(values, truth).statistic) if enough else float("nan"),
                         float(kendalltau(values, truth).statistic) if enough else float("nan"), float("nan")))
        return rows


def _arms() -> list[tuple[str, dict[str, Any]]]:
    return [(n, p) for n, p, _ in TARGETS] + REPLAYED


def _ab_plan(seed: int) -> ExperimentPlan:
    return ExperimentPlan.from_dict({"seed": seed, "experiments": [
        {"name": "FIT", "arms": [{"recommender": n, "params": p} for n, p in _arms()]}]})


def _sessions(agent: InProcessAgent, world: SimWorld, options: FitStudyOptions, episodes: range, seed: int,
              with_returns: bool) -> SessionResults:
    if with_returns:
        return play_days(agent, world, days=options.days, seed=seed).sessions
    return agent.play(episodes, seed=seed)


def _comparisons(results: SessionResults, plan: ExperimentPlan) -> tuple[list[Comparison], list[float]]:
    arms = plan.routing.assign_many(results.user)
    metrics = user_metrics(results.user, arms, results.time, results.tracks)
    rows = compare_arms(metrics, metric_names=(_METRIC,))
    values = metrics.metric(_METRIC)
    means = [float(values[metrics.arm == arm].mean()) for arm in range(len(plan.routing.arms))]
    return rows, means


def run_fit_study(world_dir: Path, options: FitStudyOptions, console: Console, progress: ProgressCallback | None = None,
                  stage: Callable[[str], None] | None = None) -> FitStudyResult:
    """Run the study on the world in ``world_dir`` (see the module docstring); write nothing but under OUT."""
    say = stage or (lambda text: console.print(text))
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    world = load_sim_world(world_dir)
    with_returns = world.truth.returns is not None
    artifacts = options.artifacts or options.out / "artifacts"
    ensure_report_models(world, artifacts, collect_episodes=options.collect_episodes, seed=options.seed,
                         console=console, models=SEMINAR_MODELS)
    seconds["models"] = time.perf_counter() - clock

    clock = time.perf_counter()
    plan = mixture_plan(options.seed)
    log = InProcessLog(plan)
    say(f"the logged day: {options.log_episodes:,} episodes of the exploration mixture"
        + (f" ({options.days} days of the return model)" if with_returns else ""))
    _sessions(InProcessAgent(world, plan, artifacts=artifacts, log=log), world, options,
              range(options.log_episodes), options.seed, with_returns)
    shutil.rmtree(options.out / "logs", ignore_errors=True)
    log_path = log.write(options.out / "logs")
    seconds["logged day"] = time.perf_counter() - clock

    clock = time.perf_counter()
    say("fitting a world to the logs and the public catalog")
    data = read_fit_data([log_path], world.catalog)
    fitted = fit_world(data, world.catalog, options.settings, progress)
    shutil.rmtree(options.out / "fitted", ignore_errors=True)
    write_fitted_world(options.out / "fitted", world.catalog, fitted, logs=data.report.files, summary=data.summary())
    prediction_world = load_sim_world(options.out / "fitted")
    seconds["fit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    say("off-policy estimates of every arm from the logs")
    decisions = read_decisions(log_path)
    model = RewardModel(decisions, world.artist_id, world.n_tracks)
    estimates = [estimate_arm(name, params, world.catalog, decisions, model, artifacts=artifacts, seed=options.seed,
                              resamples=options.resamples) for name, params in _arms()]
    seconds["OPE"] = time.perf_counter() - clock

    clock = time.perf_counter()
    ab = _ab_plan(options.seed + 2)
    episodes = range(_AB_OFFSET, _AB_OFFSET + options.ab_episodes)
    say(f"the A/B experiment in T (truth) and in F (prediction): {len(ab.routing.arms)} arms, "
        f"{options.ab_episodes:,} episodes" + (f" a day for {options.days} days in T" if with_returns else ""))
    truth_rows, truth_means = _comparisons(_sessions(InProcessAgent(world, ab, artifacts=artifacts), world, options,
                                                     episodes, options.seed + 2, with_returns), ab)
    predicted_rows, predicted_means = _comparisons(
        InProcessAgent(prediction_world, ab, artifacts=artifacts).play(episodes, seed=options.seed + 2), ab)
    seconds["A/B in T and F"] = time.perf_counter() - clock

    arms = []
    for index, ((name, params), arm_estimates) in enumerate(zip(_arms(), estimates, strict=True)):
        label = ab.routing.arms[index].label
        recall, ndcg = offline_metrics(artifacts, params)
        arms.append(ArmOutcome(
            label=f"{label} {arm_label(name, params)}",
            truth=next((r for r in truth_rows if r.treatment == label), None),
            predicted=next((r for r in predicted_rows if r.treatment == label), None),
            truth_mean=truth_means[index], predicted_mean=predicted_means[index], estimates=arm_estimates,
            recall=recall, ndcg=ndcg))
    recovery = measure_recovery(world, prediction_world, fitted, options.seed)
    return FitStudyResult(world=str(world_dir), arms=arms, fitted=fitted, recovery=recovery, seconds=seconds,
                          log_summary=data.summary(), returns=with_returns)


def measure_recovery(truth: SimWorld, fitted_world: SimWorld, fitted: FittedWorld, seed: int,
                     users: int = 1000, k: int = 100) -> Recovery:
    """Correlate the fitted users' ``b`` and ``log s`` with T's, and overlap their best tracks (``k`` each)."""
    seen = np.flatnonzero(fitted.interests.seen)
    t, f = truth.truth, fitted_world.truth
    bias = float(pearsonr(t.consume_bias[seen], f.consume_bias[seen]).statistic)
    sharpness = float(pearsonr(np.log(t.consume_sharpness[seen]), np.log(f.consume_sharpness[seen])).statistic)
    sample = np.random.default_rng(seed).choice(seen, size=min(users, len(seen)), replace=False)
    overlap = np.mean([len(np.intersect1d(a, b)) / k for a, b in zip(
        _best_tracks(truth, sample, k), _best_tracks(fitted_world, sample, k), strict=True)])
    return Recovery(bias_correlation=bias, sharpness_correlation=sharpness, neighbour_overlap=float(overlap),
                    chance_overlap=k / truth.n_tracks, true_budget=float(t.session_budget.mean()),
                    fitted_budget=fitted.budget.budget, true_gamma=float(t.artist_discount_gamma.mean()),
                    fitted_gamma=fitted.diagnostics.gamma,
                    pairs={"b": (t.consume_bias[sample], f.consume_bias[sample]),
                           "log s": (np.log(t.consume_sharpness[sample]), np.log(f.consume_sharpness[sample]))})


def _best_tracks(world: SimWorld, users: npt.NDArray[np.int64], k: int) -> list[npt.NDArray[np.int64]]:
    """Each user's ``k`` tracks of highest taste score, the best over their interests (``max_j e_r · e_j``)."""
    embeddings = np.ascontiguousarray(world.truth.embeddings, dtype=np.float32)
    interests = world.truth.interests[users].astype(np.int64)
    nearest = nearest_by_inner_product(embeddings, embeddings[interests.reshape(-1)], k).reshape(len(users), -1, k)
    out = []
    for row, candidates in zip(interests, nearest, strict=True):
        pool = np.unique(candidates)
        score = (embeddings[pool] @ embeddings[row].T).max(axis=1)
        out.append(pool[np.argsort(-score, kind="stable")[:k]].astype(np.int64))
    return out
