"""The multi-day engine (return model on) against the single-day engine, same world, recommender and run.

Both play the batched engine with the Random recommender; the multi-day run adds each day's visitor draws, the
waves, the satisfaction updates and the artists' fatigue (a lookup per step). The single-day run plays as many
sessions as the horizon had, with users drawn uniformly as today. At the default 10,000 users a day is only a few
thousand sessions, so the engine's fixed cost per step weighs; the second measurement plays the same users ten
times over (100,000 users, each a copy of one of the world's) to show the throughput of larger populations.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from botify.experiments import ExperimentPlan
from botify.sim import BatchedEngine, SimWorld
from botify.sim.agents import InProcessAgent
from botify.sim.agents.inprocess import ExperimentPolicy
from botify.sim.days import play_days

DAYS = 14


def multi_day(world: SimWorld) -> tuple[int, int, float]:
    agent = InProcessAgent(world, ExperimentPlan.single("BENCH", ["random"], seed=1))  # built outside the clock,
    start = time.perf_counter()  # as the single-day run's policy is
    horizon = play_days(agent, world, days=DAYS, seed=1)
    return len(horizon.sessions), int(horizon.sessions.steps.sum()), time.perf_counter() - start


def single_day(world: SimWorld, sessions: int) -> tuple[int, float]:
    policy = ExperimentPolicy(ExperimentPlan.single("BENCH", ["random"], seed=1), world.catalog, world.n_users)
    start = time.perf_counter()
    results = BatchedEngine(world).run(policy, seed=1, episodes=range(sessions))
    return int(results.steps.sum()), time.perf_counter() - start


def users_times(world: SimWorld, copies: int) -> SimWorld:
    """The world with every user repeated ``copies`` times (same tastes, same return-model starting points)."""
    truth = world.truth
    assert truth.returns is not None

    def tiled(array: np.ndarray) -> np.ndarray:
        return np.concatenate([array] * copies)

    returns = dataclasses.replace(truth.returns, visit_probability=tiled(truth.returns.visit_probability),
                                  expectation=tiled(truth.returns.expectation))
    bigger = dataclasses.replace(truth, interests=tiled(truth.interests),
                                 interest_nearest=tiled(truth.interest_nearest),
                                 interest_neighbours=tiled(truth.interest_neighbours),
                                 consume_bias=tiled(truth.consume_bias),
                                 consume_sharpness=tiled(truth.consume_sharpness),
                                 session_budget=tiled(truth.session_budget),
                                 artist_discount_gamma=tiled(truth.artist_discount_gamma), returns=returns)
    return SimWorld.from_parts(world.catalog, bigger)


def measure(world: SimWorld, label: str) -> tuple[float, float]:
    multi_day(world)  # warm-up
    best_multi = best_single = 0.0
    for _ in range(3):  # alternated, best of three: the machine is shared
        sessions, multi_steps, multi_seconds = multi_day(world)
        single_steps, single_seconds = single_day(world, sessions)
        best_multi = max(best_multi, multi_steps / multi_seconds)
        best_single = max(best_single, single_steps / single_seconds)
    print(f"{label}: {DAYS} days, {sessions:,} sessions, {multi_steps:,} steps")
    print(f"  multi-day engine               : best {best_multi:>12,.0f} steps/s")
    print(f"  single-day engine, same sessions: best {best_single:>12,.0f} steps/s")
    print(f"  ratio multi-day / single-day    : {best_multi / best_single:.2f}")
    return best_multi, best_single


def run(world_dir: Path) -> dict[str, float]:
    from botify.sim.world import load_sim_world

    world = load_sim_world(world_dir)
    default_multi, default_single = measure(world, f"default world ({world.n_users:,} users)")
    large_multi, large_single = measure(users_times(world, 10), f"its users ten times over ({10 * world.n_users:,})")
    print("goal: the multi-day engine >= 1,000,000 steps/s")
    return {"multi_day_steps_per_s": default_multi, "single_day_steps_per_s": default_single,
            "ratio": default_multi / default_single, "large_multi_day_steps_per_s": large_multi,
            "large_ratio": large_multi / large_single}
