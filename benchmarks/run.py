"""Run every benchmark (``make bench``).

``python benchmarks/run.py [world|sim|days|ray|service|cluster|collection|train|ab|plugin|demo|models ...]``.

Each prints ratios against a baseline measured in the same run. ``revision`` (not in the default set) measures
the service and the analysis of the working tree against an earlier revision (``BOTIFY_BENCH_BASE``, default
``HEAD~1``), interleaved: is a change free?
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_ab  # noqa: E402
import bench_cluster  # noqa: E402
import bench_collection  # noqa: E402
import bench_days  # noqa: E402
import bench_demo  # noqa: E402
import bench_models  # noqa: E402
import bench_plugin  # noqa: E402
import bench_ray  # noqa: E402
import bench_revision  # noqa: E402
import bench_service  # noqa: E402
import bench_sim  # noqa: E402
import bench_train  # noqa: E402
import bench_world  # noqa: E402
from botify.world.config import WorldConfig  # noqa: E402
from botify.world.generate import write_world  # noqa: E402


def main() -> None:
    chosen = set(sys.argv[1:]) or {"world", "sim", "days", "ray", "service", "cluster", "collection", "train", "ab",
                                   "plugin", "demo", "models"}
    if "ab" in chosen:
        print("== A/B analysis ==")
        with tempfile.TemporaryDirectory() as work:
            bench_ab.run(Path(work))
    if "world" in chosen:
        print("== world generation ==")
        bench_world.run()
    if "days" in chosen:
        print("== the multi-day engine (return model on) ==")
        with tempfile.TemporaryDirectory() as world_dir:
            write_world(world_dir, WorldConfig(return_model=True), seed=0)
            bench_days.run(Path(world_dir))
    on_default_world = [("sim", "simulator", bench_sim.run), ("ray", "simulation sharded over Ray", bench_ray.run),
                        ("service", "service", bench_service.run),
                        ("cluster", "cluster under load", bench_cluster.run),
                        ("collection", "the demo's collection day over HTTP", bench_collection.run),
                        ("train", "training", bench_train.run),
                        ("plugin", "a plugin arm vs the same built-in", bench_plugin.run),
                        ("demo", "the first demo on a fresh world vs an earlier revision", bench_demo.run),
                        ("models", "the seminar's learnt models vs an earlier revision", bench_models.run),
                        ("revision", "the working tree vs an earlier revision", bench_revision.run)]
    if not chosen & {name for name, _, _ in on_default_world}:
        return
    with tempfile.TemporaryDirectory() as world_dir:
        write_world(world_dir, WorldConfig(), seed=0)
        for name, title, run in on_default_world:
            if name in chosen:
                print(f"== {title} ==")
                run(Path(world_dir))


if __name__ == "__main__":
    main()
