"""``botify ope study``: offline estimates of every candidate arm from one logged day, against the online truth.

1. Models: the seminar's (TopPop, ALS, DSSM, Contextual, diverse Contextual), trained from an exploration day if
   the artifacts directory lacks them.
2. The logged day: an exploration mixture of every candidate (``mixture``) plays in-process and writes the
   service's log lines, with each ``next`` line's propensity.
3. From those logs alone, for every target arm: IPS, SNIPS, DM and DR of the mean listened fraction per
   recommendation, and PDIS / weighted PDIS of the mean session time. DM's reward model is fitted on the logs:
   ``q̂(x, a) = β0 + β1 · (the track's shrunk mean reward) + β2 · [same artist as the previous track]``; the
   target's value under it is averaged over 8 draws of the target at each logged context.
4. The truth: each arm alone, in-process, on episodes and a seed the log never saw (the simulator's large-sample
   value). Per estimator: bias, RMSE and Spearman's rank correlation of the arms with the online ranking by mean
   session time — beside offline recall@100 / NDCG@100 of the models' own evaluation.

The report's custom recommender and our session recommender are stateful: they cannot state a policy, but they
are deterministic given their session state, so their choice at each logged context is replayed along the logged
session and ``π(a | x) = [choice == a]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import plotly.graph_objects as go
from rich.console import Console
from rich.table import Table
from scipy.stats import spearmanr

from botify.ab.ope import Estimate, Logged, estimate_all
from botify.experiments import ExperimentPlan
from botify.recommenders.base import Recommender, Requests
from botify.recommenders.registry import build_recommender
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld
from botify.world.catalog import Catalog

__all__ = ["DM_DRAWS", "REPLAYED", "TARGETS", "OpeOptions", "arm_label", "estimate_arm", "mixture_plan",
           "offline_metrics", "replay", "run_ope_study", "target_logged"]

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
# The report's treatment and our session recommender are stateful and deterministic given their session state:
# their choice at each logged context is replayed along the logged session, and π(a | x) = [choice == a].
REPLAYED: list[tuple[str, dict[str, Any]]] = [
    ("custom", {"dssm": "dssm", "contextual": "contextual", "threshold": 0.1, "probability": 0.3}),
    ("session", {"dssm": "dssm"}),
]
_MODELS = ("toppop", "als", "dssm", "contextual", "contextual-diverse")
_TRUTH_OFFSET = 50_000_000
DM_DRAWS = 8


@dataclass(frozen=True)
class OpeOptions:
    """Sizes and places."""

    artifacts: Path
    out: Path
    log_episodes: int = 100_000
    truth_episodes: int = 100_000
    collect_episodes: int = 200_000
    seed: int = 7
    resamples: int = 100


def arm_label(name: str, params: dict[str, Any]) -> str:
    """An arm's name in tables: the recommender, and its artifact when it has one."""
    return f"{name}({params['artifact']})" if "artifact" in params else name


def replay(recommender: Recommender, requests: Requests) -> npt.NDArray[np.int64]:
    """A stateful recommender's choice at each logged context, its state fed by the logged session so far.

    Rows must be in session order. Along the steps where it agreed with the log, this is exactly what it would
    have answered online; after the first disagreement its state has seen tracks it did not choose (the
    session estimators weigh those steps by 0 anyway).
    """
    return np.array([recommender.recommend(u, t, x, s, k) for u, t, x, s, k in zip(
        requests.user.tolist(), requests.track.tolist(), requests.time.tolist(), requests.session.tolist(),
        requests.step.tolist(), strict=True)], dtype=np.int64)


@dataclass(frozen=True)
class Decisions:
    """The logged ``next`` decisions in session order, with each recommendation's reward (the next line's time)."""

    requests: Requests
    action: npt.NDArray[np.int64]
    propensity: npt.NDArray[np.float64]
    reward: npt.NDArray[np.float64]
    session: npt.NDArray[np.int64]


def read_decisions(path: Path) -> Decisions:
    """Decisions from a service log: per (user, session), line ``t``'s recommendation is rewarded by line ``t+1``."""
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
    rows.sort(key=lambda r: (r["user"], r["session"], r["step"], r["message"] == "last"))
    user = np.array([r["user"] for r in rows], dtype=np.int64)
    session = np.array([r["session"] for r in rows], dtype=np.int64)
    is_next = np.array([r["message"] == "next" for r in rows])
    time = np.array([r["time"] for r in rows], dtype=np.float64)
    following_time = np.r_[time[1:], np.nan]
    same_session = np.r_[(user[1:] == user[:-1]) & (session[1:] == session[:-1]), False]
    keep = is_next & same_session
    if (is_next & ~same_session).any():
        raise ValueError("a next line without the line that answers it (an unfinished session) in the log")
    chosen = [r for r, k in zip(rows, keep, strict=True) if k]
    step = np.array([r["step"] for r in chosen], dtype=np.int64)
    requests = Requests(user[keep], np.array([r["track"] for r in chosen], dtype=np.int64), time[keep],
                        session[keep], step)
    propensity = np.array([r.get("propensity", np.nan) for r in chosen], dtype=np.float64)
    session_id = np.cumsum(np.r_[True, (requests.user[1:] != requests.user[:-1])
                                 | (requests.session[1:] != requests.session[:-1])]) - 1
    return Decisions(requests, np.array([r["recommendation"] for r in chosen], dtype=np.int64), propensity,
                     following_time[keep], session_id.astype(np.int64))


class RewardModel:
    """``q̂(x, a)`` from the logs: the track's shrunk mean reward and whether it shares the previous track's artist."""

    def __init__(self, decisions: Decisions, artist_id: npt.NDArray[np.int64], n_tracks: int, prior: float = 20.0):
        self.artist_id = artist_id
        overall = float(decisions.reward.mean())
        sums = np.bincount(decisions.action, weights=decisions.reward, minlength=n_tracks)
        counts = np.bincount(decisions.action, minlength=n_tracks)
        self.track_mean = (sums + prior * overall) / (counts + prior)
        features = self._features(decisions.requests, decisions.action)
        self.coefficients, *_ = np.linalg.lstsq(features, decisions.reward, rcond=None)

    def _features(self, requests: Requests, tracks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        same_artist = (self.artist_id[tracks] == self.artist_id[requests.track]).astype(np.float64)
        return np.column_stack([np.ones(len(tracks)), self.track_mean[tracks], same_artist])

    def predict(self, requests: Requests, tracks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """``q̂`` of each (request, track), clipped to [0, 1]."""
        return np.clip(self._features(requests, tracks) @ self.coefficients, 0.0, 1.0)


@dataclass(frozen=True)
class ArmResult:
    """One target arm: its online truth, the estimates, and its model's offline metrics."""

    label: str
    truth_decision: float
    truth_session: float
    estimates: list[Estimate]
    recall: float | None
    ndcg: float | None

    def value(self, estimator: str) -> float:
        """The named estimate's value."""
        return next(e.value for e in self.estimates if e.estimator == estimator)


def _plan(name: str, params: dict[str, Any], seed: int) -> ExperimentPlan:
    return ExperimentPlan.from_dict({"seed": seed, "experiments": [
        {"name": "OPE", "arms": [{"recommender": name, "params": params}]}]})


def offline_metrics(artifacts: Path, params: dict[str, Any]) -> tuple[float | None, float | None]:
    """recall@100 and NDCG@100 from the arm's model manifest (None for arms without a model, and TopPop)."""
    artifact = params.get("artifact")
    if artifact is None or artifact == "toppop":
        return None, None
    directory = artifacts / str(artifact)
    version = (directory / "LATEST").read_text().strip()
    metrics = json.loads((directory / version / "manifest.json").read_text()).get("metrics", {}).get(artifact, {})
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


def mixture_plan(seed: int) -> ExperimentPlan:
    """The logged day's policy: every request answered by one of ``TARGETS``, drawn with its weight."""
    mixture = {"components": [{"recommender": n, "params": p, "weight": w} for n, p, w in TARGETS]}
    return _plan("mixture", mixture, seed)


def estimate_arm(name: str, params: dict[str, Any], catalog: Catalog, decisions: Decisions, model: RewardModel, *,
                 artifacts: Path, seed: int, resamples: int) -> list[Estimate]:
    """Every estimator's value of one target arm from the logged ``decisions``, with bootstrap intervals."""
    copies = DM_DRAWS + 1 if (name, params) not in REPLAYED else 1
    # Seeds apart from the logging mixture's: a target sharing its counter-based draws would agree with the logged
    # choices far more often than chance, and the importance weights would lie.
    build = [build_recommender(name, catalog, params, random_state=seed + 1000 + k, artifacts=artifacts)
             for k in range(copies)]
    return estimate_all(target_logged(build[0], build[1:], decisions, model), resamples=resamples, seed=seed)


def run_ope_study(world: SimWorld, options: OpeOptions, console: Console) -> list[ArmResult]:
    """Log a day with the mixture, estimate every arm from the logs, compare with the truth; print and write."""
    from botify.recipes.tune import ensure_report_models

    ensure_report_models(world, options.artifacts, collect_episodes=options.collect_episodes, seed=options.seed,
                         console=console, models=_MODELS)
    plan = mixture_plan(options.seed)
    log = InProcessLog(plan)
    with console.status(f"the logged day: {options.log_episodes:,} episodes of the exploration mixture"):
        InProcessAgent(world, plan, artifacts=options.artifacts, log=log).play(range(options.log_episodes),
                                                                              seed=options.seed)
        log_path = log.write(options.out / "logs")
        decisions = read_decisions(log_path)
    console.print(f"logged day: {len(decisions.action):,} decisions in {int(decisions.session.max()) + 1:,} "
                  f"sessions ({log_path})")
    model = RewardModel(decisions, world.artist_id, world.n_tracks)
    results = []
    for name, params in [(n, p) for n, p, _ in TARGETS] + REPLAYED:
        label = arm_label(name, params)
        with console.status(f"{label}: estimates from the logs and the truth from {options.truth_episodes:,} "
                            "episodes of its own"):
            estimates = estimate_arm(name, params, world.catalog, decisions, model, artifacts=options.artifacts,
                                     seed=options.seed, resamples=options.resamples)
            truth = InProcessAgent(world, _plan(name, params, options.seed + 1), artifacts=options.artifacts).play(
                range(_TRUTH_OFFSET, _TRUTH_OFFSET + options.truth_episodes), seed=options.seed + 1)
        recall, ndcg = offline_metrics(options.artifacts, params)
        results.append(ArmResult(label, float(truth.reward.sum() / truth.steps.sum()), float(truth.time.mean()),
                                 estimates, recall, ndcg))
    _report(results, options, console)
    return results


_DECISION = ("IPS", "SNIPS", "DM", "DR")
_SESSION = ("session PDIS", "session SNPDIS")


def summary(results: list[ArmResult]) -> list[tuple[str, float, float, float]]:
    """Per estimator (and offline metric): mean bias, RMSE against its truth, Spearman with the online ranking."""
    online = [r.truth_session for r in results]
    rows = []
    for name in (*_DECISION, *_SESSION):
        truth = [r.truth_session if name in _SESSION else r.truth_decision for r in results]
        values = [r.value(name) for r in results]
        bias = np.array(values) - np.array(truth)
        rows.append((name, float(bias.mean()), float(np.sqrt((bias**2).mean())),
                     float(spearmanr(values, online).statistic)))
    for name, offline in (("recall@100", [r.recall for r in results]), ("NDCG@100", [r.ndcg for r in results])):
        scored = [(value, r.truth_session) for value, r in zip(offline, results, strict=True) if value is not None]
        rows.append((f"{name} ({len(scored)} arms with a model)", float("nan"), float("nan"),
                     float(spearmanr([s for s, _ in scored], [t for _, t in scored]).statistic)))
    return rows


def _report(results: list[ArmResult], options: OpeOptions, console: Console) -> None:
    table = Table(title="offline estimates vs the online truth (per decision: listened fraction; per session: time)")
    for column in ("arm", "truth/decision", *_DECISION, "truth/session", *_SESSION, "recall@100", "NDCG@100"):
        table.add_column(column, justify="right")
    lines = ["| arm | truth per decision | " + " | ".join(_DECISION) + " | truth per session | "
             + " | ".join(_SESSION) + " | recall@100 | NDCG@100 |", "|---" * 11 + "|"]
    for r in results:
        def cell(name: str, r: ArmResult = r) -> str:
            e = next(x for x in r.estimates if x.estimator == name)
            return f"{e.value:.4f} [{e.lower:.4f}, {e.upper:.4f}]"

        metrics = [f"{r.recall:.3f}" if r.recall is not None else "–", f"{r.ndcg:.3f}" if r.ndcg is not None else "–"]
        cells = [r.label, f"{r.truth_decision:.4f}", *map(cell, _DECISION), f"{r.truth_session:.4f}",
                 *map(cell, _SESSION), *metrics]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    rows = summary(results)
    ranked = sorted((row for row in rows if not row[0].startswith(("recall", "NDCG"))), key=lambda row: -row[3])
    runners = ", ".join(f"{name} {rho:+.3f}" for name, _, _, rho in ranked[1:])
    headline = (f"Best predictor of the online ranking (mean session time): {ranked[0][0]}, Spearman "
                f"{ranked[0][3]:+.3f} over {len(results)} arms (then {runners})")
    brief = Table(title="per estimator: bias and RMSE against its truth, Spearman with the online ranking")
    for column in ("estimator", "mean bias", "RMSE", "Spearman"):
        brief.add_column(column, justify="right")
    lines += ["", "| estimator | mean bias | RMSE | Spearman with the online ranking |", "|---|---|---|---|"]
    for name, bias, rmse, rho in rows:
        brief.add_row(name, f"{bias:+.4f}", f"{rmse:.4f}", f"{rho:+.3f}")
        lines.append(f"| {name} | {bias:+.4f} | {rmse:.4f} | {rho:+.3f} |")
    console.print(brief)
    console.print(f"[bold]{headline}[/]")
    options.out.mkdir(parents=True, exist_ok=True)
    text = (f"# Offline evaluation against the online truth\n\n**{headline}.**\n\n"
            f"Logged day: {options.log_episodes:,} episodes of the exploration mixture; truth: "
            f"{options.truth_episodes:,} episodes of each arm alone (other episodes, other seed).\n\n"
            + "\n".join(lines) + "\n")
    (options.out / "report.md").write_text(text)
    figure = go.Figure()
    for name in (*_DECISION, *_SESSION):
        truth = [r.truth_session if name in _SESSION else r.truth_decision for r in results]
        figure.add_trace(go.Scatter(x=truth, y=[r.value(name) for r in results], mode="markers", name=name,
                                    text=[r.label for r in results]))
    low = min(min(r.truth_decision, r.truth_session) for r in results)
    high = max(max(r.truth_decision, r.truth_session) for r in results)
    figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="estimate = truth",
                                line={"dash": "dot", "color": "#888"}))
    figure.update_layout(template="plotly_white", height=520, title="offline estimate vs online truth, per arm",
                         xaxis_title="online truth", yaxis_title="offline estimate", yaxis_type="log",
                         xaxis_type="log")
    (options.out / "report.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Offline evaluation</title></head><body>"
        f"<h1>Offline evaluation against the online truth</h1><p><strong>{headline}</strong></p>"
        + figure.to_html(full_html=False, include_plotlyjs=True) + "</body></html>\n")
    console.print(f"report: {options.out / 'report.md'} and {options.out / 'report.html'}")
