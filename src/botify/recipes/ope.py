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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from rich.console import Console
from rich.table import Table
from scipy.stats import spearmanr

from botify.ope import REPLAYED, TARGETS, Estimate, RewardModel, estimate_arm, mixture_plan, read_decisions
from botify.ope.targets import arm_label, offline_metrics, one_arm_plan
from botify.recipes.models import SEMINAR_MODELS, ensure_report_models
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld

__all__ = ["OpeOptions", "run_ope_study"]

_TRUTH_OFFSET = 50_000_000


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


def run_ope_study(world: SimWorld, options: OpeOptions, console: Console) -> list[ArmResult]:
    """Log a day with the mixture, estimate every arm from the logs, compare with the truth; print and write."""
    ensure_report_models(world, options.artifacts, collect_episodes=options.collect_episodes, seed=options.seed,
                         console=console, models=SEMINAR_MODELS)
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
            alone = one_arm_plan(name, params, options.seed + 1)
            truth = InProcessAgent(world, alone, artifacts=options.artifacts).play(
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
