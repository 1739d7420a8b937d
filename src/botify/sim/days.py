"""Days under the return model: each day's visitors play their sessions wave by wave, with any agent.

Wave ``k`` of a day holds every user's ``k``-th session of that day, so one user's sessions never overlap and
each is played against the state its earlier sessions left; between waves the model decides who comes back
(``botify.sim.returns``). The agent only plays the episodes it is given, so the batched engine, the remote agent
over HTTP and the console play the same days for the same seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError
from botify.progress import ProgressCallback
from botify.sim.agents.base import Agent
from botify.sim.engine import SessionResults
from botify.sim.returns import ReturnState
from botify.sim.world import SimWorld

__all__ = ["Horizon", "ReturnDay", "play_days"]


@dataclass(frozen=True)
class ReturnDay:
    """One day of a horizon: how many users came, their sessions and the mean session time."""

    day: int
    active_users: int
    sessions: int
    mean_time: float
    left: int

    def describe(self) -> str:
        """One line for the terminal."""
        return (f"day {self.day}: {self.active_users:,} active users, {self.sessions:,} sessions, mean session time "
                f"{self.mean_time:.4f}, {self.left:,} left for good")


@dataclass(frozen=True)
class Horizon:
    """Every session of a multi-day run, in play order (day, wave, user), with its day; and who left when."""

    sessions: SessionResults
    day: npt.NDArray[np.int64]
    days: int
    n_users: int
    left_on: npt.NDArray[np.int64]
    """Per user: the day after whose sessions they left for good, or -1."""
    calendar: tuple[tuple[int, int], ...] = ()
    """Each day's wall-clock start and end (ms since the epoch): the service's log timestamps fall inside them."""

    def summary(self, day: int) -> ReturnDay:
        """The figures of one day."""
        rows = self.day == day
        return _summarize(day, self.sessions.user[rows], self.sessions.time[rows], int((self.left_on == day).sum()))


def _summarize(day: int, user: npt.NDArray[np.int64], time: npt.NDArray[np.float64], left: int) -> ReturnDay:
    return ReturnDay(day, len(np.unique(user)), len(user), float(time.mean()) if len(time) else float("nan"), left)


def play_days(
    agent: Agent,
    world: SimWorld,
    *,
    days: int,
    seed: int,
    progress: ProgressCallback | None = None,
    on_day: Callable[[ReturnDay], None] | None = None,
    agent_for_day: Callable[[int], Agent] | None = None,
) -> Horizon:
    """Play ``days`` days of the world's return model with ``agent``.

    ``agent_for_day(day)``, if given, is called before each day and replaces the agent (for example a pre-period
    against one service, then the experiment against another); the users' state carries over.
    ``progress("days", days done, days)`` after each day, and ``progress(f"day {d} sessions", sessions so far, 0)``
    as a day's sessions end (how many there will be is the return model's to decide).
    """
    if days < 1:
        raise ConfigError(f"`days` must be >= 1, got {days}")
    state = ReturnState(world, seed)
    parts: list[SessionResults] = []
    day_of: list[npt.NDArray[np.int64]] = []
    left_on = np.full(world.n_users, -1, dtype=np.int64)
    calendar: list[tuple[int, int]] = []
    report: ProgressCallback = progress or (lambda stage, done, total: None)
    for day in range(days):
        sessions = [0]

        def advance(n: int, stage: str = f"day {day} sessions", sessions: list[int] = sessions) -> None:
            sessions[0] += n
            report(stage, sessions[0], 0)

        if agent_for_day is not None:
            agent = agent_for_day(day)
        time.sleep(0.002)  # no day shares a millisecond with the one before: timestamps tell days apart
        started = time.time_ns() // 1_000_000
        users = state.start_day(day)
        wave = 0
        first = len(parts)
        while len(users):
            results = agent.play(state.episodes(wave, users), seed=seed, users=users, returns=state,
                                 progress=advance)
            assert results.heard is not None, "agents report the artists heard when given the return model"
            before = state.left.copy()
            users = state.end_wave(wave, results.user, results.time, *results.heard)
            left_on[state.left & ~before] = day
            parts.append(results)
            day_of.append(np.full(len(results), day, dtype=np.int64))
            wave += 1
        calendar.append((started, time.time_ns() // 1_000_000))
        time.sleep(0.002)
        report("days", day + 1, days)
        if on_day is not None:
            played = SessionResults.concat(parts[first:])
            on_day(_summarize(day, played.user, played.time, int((left_on == day).sum())))
    return Horizon(SessionResults.concat(parts), np.concatenate(day_of) if day_of else np.zeros(0, np.int64), days,
                   world.n_users, left_on, tuple(calendar))
