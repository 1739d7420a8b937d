"""The in-process agent: the simulator calls recommenders directly (no HTTP), routed by the experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botify.experiments import ExperimentPlan
from botify.logs.reader import EventColumns
from botify.recommenders.base import Recommender, Requests, route_batch
from botify.recommenders.interleave import InterleaveRecommender
from botify.recommenders.registry import build_plan_recommenders
from botify.service.eventlog import event_line
from botify.sim.agents.base import Episodes, Progress
from botify.sim.engine import BatchedEngine, SessionResults
from botify.sim.returns import ListenFactors
from botify.sim.world import SimWorld
from botify.state import Counters, InMemoryStore, StateStore
from botify.world.catalog import Catalog

__all__ = ["ExperimentPolicy", "InProcessAgent", "InProcessLog"]


class ExperimentPolicy:
    """Route each request to the recommender of the user's arm in the plan's routing experiment."""

    def __init__(self, plan: ExperimentPlan, catalog: Catalog, n_users: int, *,
                 artifacts: str | Path | None = None, store: StateStore | None = None) -> None:
        self.plan = plan
        experiment = plan.routing
        self.store = store or InMemoryStore()
        self.recommenders: list[Recommender] = build_plan_recommenders(plan, catalog, artifacts=artifacts,
                                                                      store=self.store)
        self.arm_of_user = experiment.assign_many(np.arange(n_users))

    def team(self, requests: Requests) -> npt.NDArray[np.int64]:
        """Each request's team where its arm interleaves (the component whose turn it is), else -1."""
        arm = self.arm_of_user[requests.user]
        out = np.full(len(requests), -1, dtype=np.int64)
        for index, recommender in enumerate(self.recommenders):
            rows = np.flatnonzero(arm == index)
            if len(rows) and isinstance(recommender, InterleaveRecommender):
                out[rows] = recommender.team_batch(requests.take(rows))
        return out

    def probability(self, requests: Requests, tracks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Each request's arm's ``probability_batch`` of the track; NaN where the recommender cannot say."""
        arm = self.arm_of_user[requests.user]
        out = np.full(len(requests), np.nan)
        for index, recommender in enumerate(self.recommenders):
            rows = np.flatnonzero(arm == index)
            if len(rows):
                found = recommender.probability_batch(requests.take(rows), tracks[rows])
                if found is not None:
                    out[rows] = found
        return out

    def __call__(self, requests: Requests) -> npt.NDArray[np.int64]:
        """Next track for every request, each from its user's arm."""
        if len(self.recommenders) == 1:
            return self.recommenders[0].recommend_batch(requests)
        return route_batch(self.recommenders, self.arm_of_user[requests.user], requests)


class InProcessAgent:
    """Play episodes with the batched engine, calling the plan's recommenders in-process.

    Session numbers continue across calls (days), as the service's per-user counters do.
    """

    def __init__(self, world: SimWorld, plan: ExperimentPlan, *, max_session_length: int = 1000,
                 log: InProcessLog | None = None, artifacts: str | Path | None = None,
                 store: StateStore | None = None) -> None:
        self.engine = BatchedEngine(world, max_session_length=max_session_length)
        self.policy = ExperimentPolicy(plan, world.catalog, world.n_users, artifacts=artifacts, store=store)
        self.sessions_played = np.zeros(world.n_users, dtype=np.int64)
        self.log = log
        if log is not None:
            log.policy = self.policy

    def play(self, episodes: Episodes, *, seed: int, progress: Progress | None = None,
             users: npt.NDArray[np.int64] | None = None, returns: ListenFactors | None = None) -> SessionResults:
        """Play the episodes in batches (recording the service's log lines if a log is attached)."""
        return self.engine.run(
            self.policy, seed=seed, episodes=episodes, users=users, returns=returns,
            sessions_played=self.sessions_played, progress=progress, recorder=self.log,
        )


class InProcessLog:
    """Collects the log lines the service would have written, for in-process runs.

    Lines come out ordered by (user, session, step) — the order one user's requests reach a service — with
    synthetic timestamps (1 ms apart), zero latency and counter epoch 0, in exactly the service's format.
    """

    def __init__(self, plan: ExperimentPlan) -> None:
        self.plan = plan
        self.policy: ExperimentPolicy | None = None  # set by the agent: the served recommenders' propensities
        self._parts: list[tuple[npt.NDArray[Any], ...]] = []

    def next(self, requests: Requests, recommendations: npt.NDArray[np.int64]) -> None:
        """Record ``/next`` lines."""
        propensity = np.full(len(requests), np.nan) if self.policy is None else \
            self.policy.probability(requests, recommendations)
        team = np.full(len(requests), -1, np.int64) if self.policy is None else self.policy.team(requests)
        self._parts.append((requests.user, requests.session, requests.step, np.zeros(len(requests), np.bool_),
                            requests.track, requests.time, recommendations, propensity, team))

    def last(self, user: npt.NDArray[np.int64], session: npt.NDArray[np.int64], step: npt.NDArray[np.int64],
             track: npt.NDArray[np.int64], time: npt.NDArray[np.float64]) -> None:
        """Record ``/last`` lines."""
        self._parts.append((user, session, step, np.ones(len(user), np.bool_), track, time,
                            np.full(len(user), -1, np.int64), np.full(len(user), np.nan),
                            np.full(len(user), -1, np.int64)))

    def events(self) -> EventColumns:
        """The recorded lines as the log reader's columns (of the routing experiment), without a file between.

        Equal to ``read_events`` of ``write``'s file for the plan's routing experiment; for in-process studies that
        would otherwise write and parse millions of lines.
        """
        if not self._parts:
            ints = np.zeros(0, np.int64)
            return EventColumns(ints, ints, ints, ints, np.zeros(0), np.zeros(0), ints, np.zeros(0, np.bool_))
        user, session, step, is_last, track, time, recommendation, propensity, team = (
            np.concatenate(c) for c in zip(*self._parts, strict=True))
        order = np.lexsort((is_last, step, session, user))
        arm = self.plan.routing.assign_many(user[order])
        return EventColumns(user=user[order], track=track[order], arm=arm, timestamp=np.arange(len(order)),
                            time=time[order], latency=np.zeros(len(order)), recommendation=recommendation[order],
                            is_last=is_last[order], session=session[order], step=step[order],
                            epoch=np.zeros(len(order), np.int64), propensity=propensity[order], team=team[order])

    def lines(self) -> list[bytes]:
        """Every recorded line, in service order (``events``' order and timestamps)."""
        events = self.events()
        experiments: dict[int, dict[str, str]] = {}
        out = []
        for stamp, u, track, time, recommendation, last, session, step, p, team in zip(
                events.timestamp.tolist(), events.user.tolist(), events.track.tolist(), events.time.tolist(),
                events.recommendation.tolist(), events.is_last.tolist(), events.session.tolist(),
                events.step.tolist(), events.propensity.tolist(), events.team.tolist(), strict=True):
            if u not in experiments:
                experiments[u] = {e.name: e.arms[e.assign(u)].label for e in self.plan.experiments}
            out.append(event_line("last" if last else "next", stamp, u, track, time, 0.0,
                                  None if last else recommendation, experiments[u], Counters(session, step, 0),
                                  propensity=None if np.isnan(p) else p, team=None if team < 0 else team))
        return out

    def write(self, directory: str | Path, filename: str = "data.json") -> Path:
        """Write the lines as a log file the analysis reads."""
        path = Path(directory) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(line + b"\n" for line in self.lines()))
        return path
