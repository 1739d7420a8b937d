"""The first ``botify demo`` on a fresh world: the working tree against an earlier revision, in one run.

``python benchmarks/run.py demo`` checks ``BOTIFY_BENCH_DEMO_BASE`` (default ``e4d6169``: the service on uvicorn,
a connection per simulated session) out in a temporary git worktree and runs the whole demo with each tree in
turn (``BOTIFY_BENCH_DEMO_ROUNDS`` rounds, default 1), each in a fresh interpreter, a fresh world and a fresh
output folder, so nothing is reused. It prints the wall time end to end and per step, the ratio working tree /
revision, and whether the two runs trained the same artifacts (content hashes of their arrays) and printed the
same A/B table apart from the latency rows (wall-clock measurements, different on every run).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_revision import checked_out, compared_revision

_REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASE = "e4d6169"


def _demo(source: Path, work: Path) -> dict[str, object]:
    """Run the demo from ``source`` in ``work``; its wall time, its steps' times, table rows and artifacts' hash."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-m", "botify.cli", "demo", "--world", str(work / "world"),
                             "--out", str(work / "demo")], check=True, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(source), "COLUMNS": "200"}).stdout
    seconds = time.perf_counter() - started
    steps = dict(re.findall(r"([a-zA-Z/, ]+?) (\d+) s(?:,|$)", output.split("time per step:")[-1].strip()))
    rows = [" | ".join(cell.strip() for cell in line.split("│")) for line in output.splitlines()
            if line.startswith("│ T") and "latency" not in line]  # cells without padding: widths follow the values
    digest = hashlib.sha256()
    for path in sorted((work / "demo" / "artifacts").rglob("*.np[yz]")):
        digest.update(path.read_bytes())
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": seconds, "steps": {name.strip(): int(s) for name, s in steps.items()}, "rows": rows,
            "artifacts": digest.hexdigest()[:12]}


def run(world_dir: Path) -> None:
    """``world_dir`` is unused: each demo generates its own world, as a first run does."""
    compared = compared_revision("DEMO", DEFAULT_BASE, 1)
    if compared is None:
        return
    base, rounds = compared
    with tempfile.TemporaryDirectory() as raw, checked_out(base) as tree:
        tmp = Path(raw)
        sources = {base: tree / "src", "working tree": _REPO / "src"}
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in sources}
        for _ in range(rounds):
            for name, source in sources.items():
                runs[name].append(_demo(source, tmp / "run"))
    print(f"the first botify demo on a fresh world, {rounds} round(s) interleaved, working tree vs {base}:")
    for name, done in runs.items():
        for result in done:
            steps = ", ".join(f"{step} {s} s" for step, s in result["steps"].items())  # type: ignore[attr-defined]
            print(f"  {name[:14]:<14} {result['seconds']:6.1f} s end to end ({steps}); artifacts "
                  f"{result['artifacts']}")
    now = min(float(r["seconds"]) for r in runs["working tree"])  # type: ignore[arg-type]
    then = min(float(r["seconds"]) for r in runs[base])  # type: ignore[arg-type]
    print(f"  ratio (best of each): {now / then:.2f}x  ({now:.1f} s vs {then:.1f} s)")
    first_now, first_then = runs["working tree"][0], runs[base][0]
    print(f"  same artifacts: {'yes' if first_now['artifacts'] == first_then['artifacts'] else 'no'}; "
          f"same A/B table apart from latency: {'yes' if first_now['rows'] == first_then['rows'] else 'no'}")
    for then_row, now_row in zip(first_then["rows"], first_now["rows"], strict=False):  # type: ignore[call-overload]
        if then_row != now_row:
            print(f"    {base[:12]}: {then_row}\n    working tree: {now_row}")
