"""``botify tune custom``: search the report's T and P with Optuna on the in-process simulator, then confirm.

Every trial plays the same search episodes with the custom recommender alone, so trials differ only by T and P
(common random numbers), and scores the mean over users of ``mean_time_per_session``. The best pair is then
confirmed in a fresh A/B day on other episodes and another simulator seed (disjoint from the search): control =
the tuned pair, T1 = the report's pair (T = 0.1, P = 0.3), T2 = DSSM as the reference serves it and T3 = our
session recommender (``botify.recommenders.session``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from botify.ab.metrics import user_metrics
from botify.ab.table import Comparison, compare_arms, render_rich
from botify.experiments import ExperimentPlan
from botify.recipes.study import open_study
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld

__all__ = ["REPORT_PAIR", "TuneOptions", "TuneResult", "run_tune"]

REPORT_PAIR = (0.1, 0.3)
_SEARCH_OFFSET, _CONFIRM_OFFSET = 10_000_000, 20_000_000


@dataclass(frozen=True)
class TuneOptions:
    """What to search and how much to simulate."""

    artifacts: Path
    trials: int
    seed: int
    search_episodes: int
    confirm_episodes: int
    dssm: str = "dssm"
    contextual: str = "contextual"
    max_threshold: float = 0.5
    storage: str | None = None
    """Optuna storage URL shared by several workers (``recipes/study.py``); None: a study in memory."""
    study_name: str = "botify-tune-custom"
    heartbeat: int = 10
    """Seconds between a running trial's heartbeats (RDB storage); a killed worker's trial is retried after 2x."""


@dataclass(frozen=True)
class TuneResult:
    """The search's trials, the best pair and the confirmation day's comparisons."""

    trials: list[tuple[int, float, float, float]]
    best: tuple[float, float]
    confirmation: list[Comparison]


def _custom(options: TuneOptions, threshold: float, probability: float) -> dict[str, Any]:
    return {"recommender": "custom", "params": {"dssm": options.dssm, "contextual": options.contextual,
                                                "threshold": threshold, "probability": probability}}


def _mean_time_per_session(world: SimWorld, options: TuneOptions, threshold: float, probability: float) -> float:
    plan = ExperimentPlan.from_dict({"seed": options.seed, "experiments": [
        {"name": "TUNE", "arms": [_custom(options, threshold, probability)]}]})
    episodes = range(_SEARCH_OFFSET, _SEARCH_OFFSET + options.search_episodes)
    result = InProcessAgent(world, plan, artifacts=options.artifacts).play(episodes, seed=options.seed)
    metrics = user_metrics(result.user, np.zeros(len(result.user), np.int64), result.time, result.tracks)
    return float(np.mean(metrics.mean_time_per_session))


def run_tune(world: SimWorld, options: TuneOptions, console: Console) -> TuneResult:
    """Search, print the search table, confirm the best pair in a fresh A/B day and print that table."""
    import optuna
    from optuna.trial import TrialState

    started = time.perf_counter()
    shared = open_study(options.storage, options.study_name, seed=options.seed, heartbeat=options.heartbeat)
    study = shared.study
    if shared.worker == 0:
        study.enqueue_trial({"threshold": REPORT_PAIR[0], "probability": REPORT_PAIR[1]}, skip_if_exists=True)
    if shared.shared:
        console.print(f"study {options.study_name!r} at {options.storage}: worker {shared.worker} "
                      f"({shared.worker_name}); {options.trials} complete trials in all")
    from rich.progress import Progress

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", shared.worker_name)
        threshold = trial.suggest_float("threshold", 0.0, options.max_threshold)
        probability = trial.suggest_float("probability", 0.0, 1.0)
        return _mean_time_per_session(world, options, threshold, probability)

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("searching T and P", total=options.trials)

        def advance(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            progress.update(task, completed=len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))))

        study.optimize(objective, n_trials=options.trials,
                       callbacks=[optuna.study.MaxTrialsCallback(options.trials), advance])
        shared.finish(objective, console.print)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    trials = sorted(((t.number, t.params["threshold"], t.params["probability"], float(t.value or 0.0))
                     for t in complete), key=lambda row: -row[3])
    workers = len({t.user_attrs.get("worker") for t in complete})
    table = Table(title=f"search: {len(trials)} trials x {options.search_episodes:,} episodes, seed "
                        f"{options.seed}" + (f", {workers} workers" if shared.shared else "")
                        + " (report's pair = trial 0)")
    for column in ("trial", "T", "P", "mean_time_per_session"):
        table.add_column(column, justify="right")
    for number, threshold, probability, value in trials:
        style = "bold green" if number == trials[0][0] else "yellow" if number == 0 else None
        table.add_row(str(number), f"{threshold:.3f}", f"{probability:.3f}", f"{value:.4f}", style=style)
    console.print(table)
    best = (round(trials[0][1], 3), round(trials[0][2], 3))
    if not shared.claim_confirmation():
        console.print(f"best of the study: trial {trials[0][0]} (T={best[0]}, P={best[1]}); its confirmation day "
                      "runs in the worker that claimed it first")
        return TuneResult(trials, best, [])
    confirmation = _confirm(world, options, best)
    console.print(render_rich(confirmation, title=f"confirmation day ({options.confirm_episodes:,} episodes, seed "
                                                  f"{options.seed + 1}): C = custom T={best[0]} P={best[1]} "
                                                  "(tuned), T1 = custom T=0.1 P=0.3 (report), T2 = DSSM, "
                                                  "T3 = session (ours)"))
    console.print(f"tuned in {time.perf_counter() - started:.0f} s")
    return TuneResult(trials, best, confirmation)


def _confirm(world: SimWorld, options: TuneOptions, best: tuple[float, float]) -> list[Comparison]:
    plan = ExperimentPlan.from_dict({"seed": options.seed + 1, "experiments": [{"name": "CONFIRM", "arms": [
        _custom(options, *best), _custom(options, *REPORT_PAIR),
        {"recommender": "indexed", "params": {"artifact": options.dssm}},
        {"recommender": "session", "params": {"dssm": options.dssm}}]}]})
    episodes = range(_CONFIRM_OFFSET, _CONFIRM_OFFSET + options.confirm_episodes)
    result = InProcessAgent(world, plan, artifacts=options.artifacts).play(episodes, seed=options.seed + 1)
    metrics = user_metrics(result.user, plan.routing.assign_many(result.user), result.time, result.tracks)
    return compare_arms(metrics, metric_names=("mean_time_per_session", "mean_tracks_per_session", "time"))
