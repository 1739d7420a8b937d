"""Run every benchmark: ``python benchmarks/run.py`` (or ``make bench``). Prints ratios measured in one run."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_sim  # noqa: E402
import bench_world  # noqa: E402
from botify.world.config import WorldConfig  # noqa: E402
from botify.world.generate import write_world  # noqa: E402


def main() -> None:
    print("== world generation ==")
    bench_world.run()
    print("== simulator ==")
    with tempfile.TemporaryDirectory() as world_dir:
        write_world(world_dir, WorldConfig(), seed=0)
        bench_sim.run(Path(world_dir))


if __name__ == "__main__":
    main()
