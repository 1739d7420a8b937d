"""Local in-process simulation against the same run sharded over a local Ray instance (2 CPUs), same run.

The calibration experiment (Random, StickyArtist, TopPop) for 400,000 episodes; Ray's start and the actors' world
loading are timed apart from the run. On one 2-core machine the ratio shows Ray's overhead (and what two processes
gain over one); across machines the shards add up.
"""

from __future__ import annotations

import time
from pathlib import Path

from botify.experiments import default_plan
from botify.sim.agents import InProcessAgent
from botify.sim.world import load_sim_world

EPISODES = 400_000


def run(world_dir: Path) -> dict[str, float]:
    from botify.sim.agents.sharded import RayAgent, require_ray

    ray = require_ray()
    world = load_sim_world(world_dir)
    plan = default_plan()
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    sharded = RayAgent(world, world_dir, plan=plan)
    sharded.play(range(100), seed=0)  # the actors are up and have loaded the world
    startup = time.perf_counter() - start
    best_local = best_ray = float("inf")
    for repeat in range(2):  # alternated, best of two: the machine is shared
        episodes = range((repeat + 1) * 1_000_000, (repeat + 1) * 1_000_000 + EPISODES)
        start = time.perf_counter()
        InProcessAgent(world, plan).play(episodes, seed=1)
        best_local = min(best_local, time.perf_counter() - start)
        start = time.perf_counter()
        sharded.play(episodes, seed=1)
        best_ray = min(best_ray, time.perf_counter() - start)
    ray.shutdown()
    print(f"local, one process        : {EPISODES:,} episodes in {best_local:6.2f} s = "
          f"{EPISODES / best_local:>9,.0f} episodes/s")
    print(f"Ray, {sharded.shards} shards (local)     : {EPISODES:,} episodes in {best_ray:6.2f} s = "
          f"{EPISODES / best_ray:>9,.0f} episodes/s   (+ {startup:.1f} s to start Ray and the actors)")
    print(f"ratio Ray / local         : {best_local / best_ray:.2f}x the throughput")
    return {"local_episodes_per_s": EPISODES / best_local, "ray_episodes_per_s": EPISODES / best_ray,
            "ratio": best_local / best_ray, "startup_s": startup}
