"""The seminar's learnt models trained by the working tree and by an earlier revision, in one run.

``python benchmarks/run.py models`` checks ``BOTIFY_BENCH_MODELS_BASE`` (default ``e4d6169``: each model fitted
twice, to evaluate and again on all the logs; embedding lookups handed over as sparse gradients; per-artist caps
row by row in Python) out in a temporary git worktree. On one collection day (200,000 episodes of the
exploration plan, played in-process), each model is trained by ``train_model`` on one thread, as the seminar's
workers do, by each tree in turn (``BOTIFY_BENCH_MODELS_ROUNDS`` rounds, default 2), each in a fresh
interpreter; ``BOTIFY_BENCH_MODELS`` (comma-separated) picks the models. It prints each run's seconds, the
ratio working tree / revision (best of each), the offline recall@100, and whether both trees saved the same
arrays (their content hash).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_revision import checked_out, compared_revision
from botify.experiments import BUNDLED as DATA
from botify.experiments import load_experiments
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import load_sim_world

_REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASE = "e4d6169"
MODELS = ("contextual-diverse", "contextual", "dssm")
# Runs in the tree under test: only APIs both trees have (train_model, load_interactions, the artifact's files).
_TRAIN = """
import hashlib, json, sys, time
from pathlib import Path
from botify.sim.world import load_sim_world
from botify.train.dataset import load_interactions
from botify.train.pipeline import train_model
name, world, logs, out = sys.argv[1:5]
catalog = load_sim_world(Path(world)).catalog
data, _ = load_interactions([Path(logs)], catalog.n_tracks)
started = time.perf_counter()
result = train_model(name, catalog, data, Path(out), seed=1, threads=1)
seconds = time.perf_counter() - started
digest = hashlib.sha256()
for path in sorted(Path(out).rglob("*.np[yz]")):
    digest.update(path.read_bytes())
print(json.dumps({"seconds": seconds, "recall": result.metrics.recall, "arrays": digest.hexdigest()[:12]}))
"""


def _train(source: Path, name: str, world_dir: Path, logs: Path, out: Path) -> dict[str, float | str]:
    shutil.rmtree(out, ignore_errors=True)
    output = subprocess.run([sys.executable, "-c", _TRAIN, name, str(world_dir), str(logs), str(out)], check=True,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(source)}).stdout
    shutil.rmtree(out, ignore_errors=True)
    result: dict[str, float | str] = json.loads(output.strip().splitlines()[-1])
    return result


def run(world_dir: Path, episodes: int = 200_000) -> None:
    compared = compared_revision("MODELS", DEFAULT_BASE, 2)
    if compared is None:
        return
    base, rounds = compared
    with tempfile.TemporaryDirectory() as raw, checked_out(base) as tree:
        tmp = Path(raw)
        plan = load_experiments(DATA / "exploration.yml")
        log = InProcessLog(plan)
        InProcessAgent(load_sim_world(world_dir), plan, log=log).play(range(episodes), seed=1)
        log.write(tmp / "logs")
        sources = {base: tree / "src", "working tree": _REPO / "src"}
        models = os.environ.get("BOTIFY_BENCH_MODELS", ",".join(MODELS)).split(",")
        runs: dict[str, dict[str, list[dict[str, float | str]]]] = {m: {s: [] for s in sources} for m in models}
        for name in models:
            for _ in range(rounds):
                for label, source in sources.items():
                    runs[name][label].append(_train(source, name, world_dir, tmp / "logs", tmp / "out"))
    print(f"training on one thread, {episodes:,} collection episodes, {rounds} round(s) interleaved, working tree "
          f"vs {base}:")
    print(f"{'model':<20}{base[:12]:>14}{'working tree':>14}{'ratio':>8}{'recall then/now':>18}{'same arrays':>13}")
    for name, by_tree in runs.items():
        then, now = by_tree[base], by_tree["working tree"]
        best_then, best_now = min(float(r["seconds"]) for r in then), min(float(r["seconds"]) for r in now)
        same = "yes" if then[0]["arrays"] == now[0]["arrays"] else "no"
        print(f"{name:<20}{best_then:>13.1f}s{best_now:>13.1f}s{best_now / best_then:>7.2f}x"
              f"{float(then[0]['recall']):>9.4f}/{float(now[0]['recall']):.4f}{same:>13}")
        print(f"  every run: {base[:12]} {[round(float(r['seconds']), 1) for r in then]} s, working tree "
              f"{[round(float(r['seconds']), 1) for r in now]} s")
