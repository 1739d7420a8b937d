"""Run the simulator for several days and summarise each day like the reference (mean ± standard error)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError
from botify.progress import ProgressCallback
from botify.sim.agents.base import Agent
from botify.sim.engine import SessionResults

__all__ = ["DaySummary", "run_days", "summarize_day"]


@dataclass(frozen=True)
class DaySummary:
    """Mean reward and steps per episode of one day, with standard errors of the mean."""

    day: int
    episodes: int
    mean_reward: float
    se_reward: float
    mean_steps: float
    se_steps: float
    mean_time: float
    results: SessionResults

    def describe(self) -> str:
        """One line, like the reference simulator prints."""
        return (
            f"day {self.day}: {self.episodes} episodes, reward {self.mean_reward:.4f} ± {self.se_reward:.4f}, "
            f"steps {self.mean_steps:.3f} ± {self.se_steps:.3f}, session time {self.mean_time:.4f}"
        )


def _mean_se(values: npt.NDArray[np.float64]) -> tuple[float, float]:
    if len(values) == 0:
        return float("nan"), float("nan")
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
    return float(values.mean()), se


def summarize_day(day: int, results: SessionResults) -> DaySummary:
    """Summarise one day's sessions."""
    reward, se_reward = _mean_se(results.reward)
    steps, se_steps = _mean_se(results.steps.astype(np.float64))
    return DaySummary(day, len(results), reward, se_reward, steps, se_steps, float(results.time.mean()), results)


def run_days(
    agent: Agent,
    *,
    episodes: int,
    days: int,
    seed: int,
    between_days: Callable[[int], None] | None = None,
    progress: ProgressCallback | None = None,
    on_day: Callable[[DaySummary], None] | None = None,
) -> list[DaySummary]:
    """Play ``days`` days of ``episodes`` episodes; day ``d`` plays episodes ``d*episodes .. (d+1)*episodes-1``.

    ``between_days(d)`` runs after every day but the last (pause for the operator, run a hook, retrain...);
    ``progress(f"day {d}", sessions played, episodes)`` is called as the day's sessions end.
    """
    if episodes < 1:
        raise ConfigError(f"`episodes` must be >= 1, got {episodes}")
    if days < 1:
        raise ConfigError(f"`days` must be >= 1, got {days}")
    summaries = []
    for day in range(days):
        played = [0]

        def advance(n: int, stage: str = f"day {day}", played: list[int] = played) -> None:
            played[0] += n
            if progress is not None:
                progress(stage, played[0], episodes)

        results = agent.play(range(day * episodes, (day + 1) * episodes), seed=seed, progress=advance)
        summary = summarize_day(day, results)
        summaries.append(summary)
        if on_day is not None:
            on_day(summary)
        if between_days is not None and day < days - 1:
            between_days(day)
    return summaries
