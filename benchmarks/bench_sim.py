"""Batched engine vs a plain per-step loop over the Gymnasium env, same world and recommender, same run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from botify.experiments import ExperimentPlan
from botify.recommenders import build_recommender
from botify.sim import BatchedEngine, SessionEnv, SimWorld
from botify.sim.agents import ExperimentPolicy


def per_step_loop(world: SimWorld, episodes: int) -> tuple[int, float]:
    env = SessionEnv(world)
    recommender = build_recommender("random", world.catalog, random_state=1)
    steps = 0
    start = time.perf_counter()
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            track = recommender.recommend(obs["user"], obs["track"], float(obs["time"]), 0, steps)
            obs, _, terminated, truncated, _ = env.step(track)
            steps += 1
            done = terminated or truncated
    return steps, time.perf_counter() - start


def batched(world: SimWorld, episodes: int) -> tuple[int, float]:
    policy = ExperimentPolicy(ExperimentPlan.single("BENCH", ["random"], seed=1), world.catalog, world.n_users)
    engine = BatchedEngine(world)
    start = time.perf_counter()
    results = engine.run(policy, seed=1, episodes=range(episodes))
    return int(results.steps.sum()), time.perf_counter() - start


def run(world_dir: Path) -> dict[str, float]:
    from botify.sim.world import load_sim_world

    world = load_sim_world(world_dir)
    batched(world, 10_000)  # warm-up
    loop_steps, loop_seconds = per_step_loop(world, 20_000)
    batch_steps, batch_seconds = batched(world, 1_000_000)
    loop_rate, batch_rate = loop_steps / loop_seconds, batch_steps / batch_seconds
    print(f"per-step Gymnasium loop : {loop_steps:>9,} steps in {loop_seconds:6.2f} s = {loop_rate:>12,.0f} steps/s")
    print(f"batched engine          : {batch_steps:>9,} steps in {batch_seconds:6.2f} s = {batch_rate:>12,.0f} steps/s")
    print(f"ratio batched / loop    : {batch_rate / loop_rate:,.1f}x   (goals: >= 1,000,000 steps/s, >= 50x)")
    return {"loop_steps_per_s": loop_rate, "batched_steps_per_s": batch_rate, "ratio": batch_rate / loop_rate,
            "mean_steps": float(np.float64(batch_steps) / 1_000_000)}
