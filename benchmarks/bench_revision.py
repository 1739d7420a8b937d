"""The working tree against an earlier revision, measured in one run (is a change free?).

``python benchmarks/run.py revision`` (against ``BOTIFY_BENCH_BASE``, default ``HEAD~1``) checks the revision out
in a temporary git worktree and runs each measurement on both trees in turn, several rounds interleaved, so that a
noisy neighbour slows both:

- the service: ``POST /next`` on one worker driven by wrk at 16 connections (5 s), its requests/s, p99 and the
  service process's CPU time per request (from ``/proc``);
- the analysis: ``analyze_logs`` of a synthetic multi-replica log, cold (a fresh Parquet cache), in a fresh
  interpreter.

It prints the best round of each tree and the ratio working tree / revision (1.00 = the same).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bench_ab
import bench_service
from botify.service.process import ServiceProcess

ROUNDS = 3
ANALYSIS_LINES = 2_000_000
_REPO = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compared_revision(name: str, default_base: str, default_rounds: int) -> tuple[str, int] | None:
    """The revision and rounds a comparison runs (``BOTIFY_BENCH_<NAME>_BASE``, ``..._ROUNDS``); None without git."""
    if not shutil.which("git"):
        print("skipped: needs git on PATH")
        return None
    return (os.environ.get(f"BOTIFY_BENCH_{name}_BASE", default_base),
            int(os.environ.get(f"BOTIFY_BENCH_{name}_ROUNDS", str(default_rounds))))


@contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """A temporary git worktree of ``revision`` (its ``src`` goes on ``PYTHONPATH``), removed afterwards."""
    with tempfile.TemporaryDirectory() as raw:
        tree = Path(raw) / "tree"
        subprocess.run(["git", "-C", str(_REPO), "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(_REPO), "worktree", "remove", "--force", str(tree)], check=False)


def _service(source: Path, world_dir: Path, tmp: Path, script: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    with ServiceProcess(world_dir, log_dir=tmp / "log", env=env) as service:
        assert service.process is not None
        bench_service.wrk(service.url, 16, script, seconds=1)  # warm-up
        before = cpu_seconds(service.process.pid)
        row = bench_service.wrk(service.url, 16, script, seconds=5)
        cpu = cpu_seconds(service.process.pid) - before
    shutil.rmtree(tmp / "log", ignore_errors=True)
    return {"rps": row["rps"], "p99_ms": row["p99_ms"], "cpu_us": 1e6 * cpu / (row["rps"] * 5)}


def _analysis(source: Path, logs: Path, tmp: Path) -> float:
    cache = tmp / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    code = ("import sys, time; from botify.ab.analyze import analyze_logs; started = time.perf_counter(); "
            f"analyze_logs([{str(logs)!r}], 'BENCH', cache_dir={str(cache)!r}); print(time.perf_counter() - started)")
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(source)}).stdout
    return float(output.strip().splitlines()[-1])


def run(world_dir: Path, base: str | None = None) -> None:
    base = base or os.environ.get("BOTIFY_BENCH_BASE", "HEAD~1")
    if not (shutil.which("wrk") and shutil.which("git")):
        print("skipped: needs wrk and git on PATH")
        return
    with tempfile.TemporaryDirectory() as raw, checked_out(base) as tree:
        tmp = Path(raw)
        sources = {"working tree": _REPO / "src", base: tree / "src"}
        script = tmp / "next.lua"
        script.write_text(bench_service.LUA_NEXT)
        bench_ab.write_logs(tmp / "logs", ANALYSIS_LINES, replicas=4)
        service: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
        analysis: dict[str, list[float]] = {name: [] for name in sources}
        for _ in range(ROUNDS):
            for name, source in sources.items():
                service[name].append(_service(source, world_dir, tmp, script))
                analysis[name].append(_analysis(source, tmp / "logs", tmp))
                time.sleep(1)
    best = {name: {"rps": max(r["rps"] for r in rows), "p99_ms": min(r["p99_ms"] for r in rows),
                   "cpu_us": min(r["cpu_us"] for r in rows)} for name, rows in service.items()}
    print(f"best of {ROUNDS} interleaved rounds, working tree vs {base}:")
    print(f"{'':<14}{'/next req/s':>12}{'p99 ms':>9}{'CPU µs/req':>12}{f'analysis {ANALYSIS_LINES / 1e6:.0f}M s':>18}")
    for name in sources:
        print(f"{name[:14]:<14}{best[name]['rps']:>12,.0f}{best[name]['p99_ms']:>9.2f}{best[name]['cpu_us']:>12.1f}"
              f"{min(analysis[name]):>18.2f}")
    now, then = best["working tree"], best[base]
    print(f"{'ratio':<14}{now['rps'] / then['rps']:>12.2f}{now['p99_ms'] / then['p99_ms']:>9.2f}"
          f"{now['cpu_us'] / then['cpu_us']:>12.2f}{min(analysis['working tree']) / min(analysis[base]):>18.2f}")
    for name in sources:
        print(f"  every round, {name}: req/s {[round(r['rps']) for r in service[name]]}, "
              f"CPU µs/req {[round(r['cpu_us'], 1) for r in service[name]]}, "
              f"analysis s {[round(s, 2) for s in analysis[name]]}")
