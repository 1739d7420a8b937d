"""World generation at default scale: wall time and peak memory, measured in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

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


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        measured = json.loads(subprocess.run([sys.executable, "-c", _CHILD, out], check=True,
                                             capture_output=True, text=True).stdout)
    baseline = json.loads(subprocess.run([sys.executable, "-c", _BASELINE], check=True,
                                         capture_output=True, text=True).stdout)
    print(f"world generation (50,000 tracks, 10,000 users): {measured['seconds']:.1f} s, "
          f"peak {measured['peak_mib']:.0f} MiB (imports alone: {baseline['peak_mib']:.0f} MiB; "
          f"{measured['peak_mib'] / baseline['peak_mib']:.1f}x)   (goals: <= 30 s, <= 2048 MiB)")
    return {"seconds": measured["seconds"], "peak_mib": measured["peak_mib"]}
