"""World generation at default scale: wall time and peak memory, measured in a fresh process.

Its largest step, each interest's nearest tracks by taste, is then timed on the generated world's truth: one
thread over 2,048-row chunks with BLAS as configured (the previous path) against 1,024-row chunks on every core
with one-threaded BLAS each, the same answer asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from botify.world.config import WorldConfig
from botify.world.truth import load_truth, nearest_by_inner_product

_CHILD = """
import json, resource, sys, time
from botify.world.config import WorldConfig
from botify.world.generate import write_world
start = time.perf_counter()
write_world(sys.argv[1], WorldConfig(), seed=0)
seconds = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024}))
"""

_BASELINE = """
import json, resource
import numpy, pyarrow, botify.world.generate
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def interest_neighbours(world_dir: Path) -> None:
    """The nearest tracks of every user's interests: the previous single-threaded path, then the threaded one."""
    truth = load_truth(world_dir)
    queries = np.ascontiguousarray(truth.embeddings[truth.interests.reshape(-1)])
    k = WorldConfig().interest_neighbours
    seconds, answers = {}, {}
    for label, chunk, threads in (("previous", 2048, 1), ("threaded", 1024, None)):
        start = time.perf_counter()
        answers[label] = nearest_by_inner_product(truth.embeddings, queries, k, chunk=chunk, threads=threads)
        seconds[label] = time.perf_counter() - start
    assert np.array_equal(answers["previous"], answers["threaded"]), "the threaded path changed the nearest tracks"
    print(f"nearest {k} tracks of {len(queries):,} interests: one thread, 2,048-row chunks (previous) "
          f"{seconds['previous']:.2f} s; 1,024-row chunks on every core {seconds['threaded']:.2f} s "
          f"({seconds['previous'] / seconds['threaded']:.2f}x), the same tracks")


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        measured = json.loads(subprocess.run([sys.executable, "-c", _CHILD, out], check=True,
                                             capture_output=True, text=True).stdout)
        interest_neighbours(Path(out))
    baseline = json.loads(subprocess.run([sys.executable, "-c", _BASELINE], check=True,
                                         capture_output=True, text=True).stdout)
    print(f"world generation (50,000 tracks, 10,000 users): {measured['seconds']:.1f} s, "
          f"peak {measured['peak_mib']:.0f} MiB (imports alone: {baseline['peak_mib']:.0f} MiB; "
          f"{measured['peak_mib'] / baseline['peak_mib']:.1f}x)   (goals: <= 30 s, <= 2048 MiB)")
    return {"seconds": measured["seconds"], "peak_mib": measured["peak_mib"]}
