"""A/B analysis at scale: 10,000,000 log lines in several replica files, read + sessionized + compared.

The columnar path (log lines split in numpy → DuckDB → cached Parquet → numpy sessionizing and Welch) is timed
cold (conversion included) and warm (cached copies), with its peak memory, each in its own process, beside the
previous columnar reader (``baseline_columnar.py``: DuckDB splits and parses each file in one statement) on the
same logs in the same run. A straightforward pandas implementation (``read_json(lines=True)``, sort, groupby) on a
1,000,000-line subset is the third baseline; ratios are events per second. First, the time a fresh interpreter
takes to import the analysis, today against the previous imports (scipy.stats and pandas, loaded until 2026-12-04).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.progress import track

LINES, SUBSET, REPLICAS = 10_000_000, 1_000_000, 4
PROPENSITY = ',"propensity":2e-05'  # a uniformly random pick among 50,000 tracks


def write_logs(out: Path, lines: int, replicas: int, seed: int = 0) -> None:
    """Synthetic sessions (users split 50/50 by parity) spread over ``replicas`` files, like nginx would.

    Lines are what the service writes today: the reference fields, then the counters, a request id and, on
    ``next`` lines, the propensity of a uniformly random pick.
    """
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    handles = [(out / f"replica{r}" / "data.json") for r in range(replicas)]
    for path in handles:
        path.parent.mkdir(parents=True, exist_ok=True)
    files = [path.open("w") for path in handles]
    written, stamp, chunk = 0, 1_700_000_000_000, 100_000
    sessions: dict[int, int] = {}
    with_progress = track(range(0, lines, chunk), description=f"writing {lines:,} log lines")
    for _ in with_progress:
        users = rng.integers(0, 200_000, chunk // 7 + 1)
        lengths = rng.geometric(1 / 7, len(users))
        for user, length in zip(users.tolist(), lengths.tolist(), strict=True):
            if written >= lines:
                break
            arm = "C" if user % 2 == 0 else "T1"
            times = np.round(rng.random(length), 2).tolist()[: lines - written]
            target = files[user % replicas]
            session = sessions.get(user, 0)
            sessions[user] = session + 1
            for step, listened in enumerate(times):
                last = step == length - 1
                stamp += 1
                target.write(
                    f'{{"message":"{"last" if last else "next"}","timestamp":{stamp},"user":{user},'
                    f'"track":{(user * 31 + step) % 50_000},"time":{listened},"latency":0.0003,'
                    f'"recommendation":{"null" if last else (user + step) % 50_000},'
                    f'"experiments":{{"BENCH":"{arm}"}},"session":{session},"step":{step},'
                    f'"epoch":1700000000000,"request_id":"b-{written}"{"" if last else PROPENSITY}}}\n')
                written += 1
    for handle in files:
        handle.close()


def _columnar(logs: str, cache: str, reader: str = "current") -> dict[str, float]:
    from botify.ab.analyze import analyze_logs
    from botify.logs import columnar

    if reader == "previous":
        import baseline_columnar

        columnar.read_events_columnar = baseline_columnar.read_events_columnar
    started = time.perf_counter()
    analysis = analyze_logs([logs], "BENCH", cache_dir=cache)
    elapsed = time.perf_counter() - started
    row = next(r for r in analysis.rows if r.metric == "mean_time_per_session")
    return {"seconds": elapsed, "lines": analysis.read.lines, "effect": row.effect,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _report(logs: str, cache: str) -> dict[str, float]:
    """The warm analysis, then its HTML report (plots included), timed apart."""
    from botify.ab.analyze import analyze_logs
    from botify.ab.html import render_html

    started = time.perf_counter()
    analysis = analyze_logs([logs], "BENCH", cache_dir=cache)
    analysed = time.perf_counter()
    page = render_html(analysis, "BENCH")
    return {"seconds": analysed - started, "report_seconds": time.perf_counter() - analysed,
            "lines": analysis.read.lines, "megabytes": len(page) / 1e6,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _pandas(logs: str, limit: str) -> dict[str, float]:
    import pandas as pd
    from scipy import stats

    started = time.perf_counter()
    frames, remaining = [], int(limit)
    for path in sorted(Path(logs).rglob("data.json")):
        frame = pd.read_json(path, lines=True, nrows=remaining // REPLICAS)
        frames.append(frame)
    events = pd.concat(frames, ignore_index=True)
    events["arm"] = events["experiments"].map(lambda e: e["BENCH"])
    events = events.sort_values(["arm", "user", "timestamp"], kind="stable")
    starts = events.groupby(["arm", "user"]).cumcount().eq(0) | events["message"].shift().eq("last")
    events["session"] = starts.cumsum()
    sessions = events.groupby(["arm", "user", "session"]).agg(time=("time", "sum"), last=("message", "last"))
    sessions = sessions[sessions["last"] == "last"]
    users = sessions.groupby(["arm", "user"])["time"].mean().reset_index()
    control, treatment = (users.loc[users["arm"] == a, "time"].to_numpy() for a in ("C", "T1"))
    stats.ttest_ind(treatment, control, equal_var=False)
    effect = 100 * (treatment.mean() - control.mean()) / control.mean()
    return {"seconds": time.perf_counter() - started, "lines": float(len(events)), "effect": float(effect),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _in_process(kind: str, *args: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter so peak memory is its own."""
    code = f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_ab; " \
           f"print(json.dumps(bench_ab._{kind}(*{list(args)!r})))"
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def import_seconds(modules: str, repeats: int = 5) -> float:
    """Mean wall time of a fresh interpreter that imports ``modules`` (interleave calls to compare)."""
    started = time.perf_counter()
    for _ in range(repeats):
        subprocess.run([sys.executable, "-c", f"import {modules}"], check=True)
    return (time.perf_counter() - started) / repeats


def analysis_import() -> None:
    """The analysis's imports: today's, and with scipy.stats and pandas (which it loaded until 2026-12-04)."""
    seconds: dict[str, float] = {"previous": 0.0, "current": 0.0}
    for _ in range(3):
        seconds["previous"] += import_seconds("scipy.stats, pandas, botify.ab.analyze")
        seconds["current"] += import_seconds("botify.ab.analyze")
    print(f"a fresh interpreter importing botify.ab.analyze: with scipy.stats and pandas (previous) "
          f"{seconds['previous'] / 3:.2f} s; today {seconds['current'] / 3:.2f} s "
          f"({seconds['previous'] / seconds['current']:.2f}x)")


def run(work: Path, lines: int = LINES, subset: int = SUBSET) -> None:
    analysis_import()
    logs = work / "logs"
    if not (logs / "replica0" / "data.json").exists():
        write_logs(logs, lines, REPLICAS)
    measured: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    for reader in ("previous", "current"):
        cache = str(work / f"cache-{reader}")
        measured[reader] = (_in_process("columnar", str(logs), cache, reader),
                            _in_process("columnar", str(logs), cache, reader))
    baseline = _in_process("pandas", str(logs), str(subset))
    print(f"{'path':<36} {'lines':>12} {'seconds':>8} {'events/s':>12} {'peak MiB':>9} {'vs pandas':>9} "
          f"{'vs previous':>11}")
    base_rate = baseline["lines"] / baseline["seconds"]
    rows: list[tuple[str, dict[str, float], dict[str, float] | None]] = [
        ("pandas groupby (1M subset)", baseline, None)]
    for reader in ("previous", "current"):
        cold, warm = measured[reader]
        rows += [(f"{reader} reader, cold (conversion)", cold, measured["previous"][0]),
                 (f"{reader} reader, warm (cached)", warm, measured["previous"][1])]
    for name, result, previous in rows:
        rate = result["lines"] / result["seconds"]
        versus = f"{previous['seconds'] / result['seconds']:>10.2f}x" if previous else f"{'':>11}"
        print(f"{name:<36} {int(result['lines']):>12,} {result['seconds']:>8.1f} {rate:>12,.0f} "
              f"{result['peak_mib']:>9,.0f} {rate / base_rate:>8.1f}x {versus}")
    cold, warm = measured["current"]
    print(f"goal: 10M lines cold <= 20 s and <= 4 GiB: {cold['seconds']:.1f} s, {cold['peak_mib']:,.0f} MiB "
          f"(warm {warm['seconds']:.1f} s); effect on mean_time_per_session: {warm['effect']:+.2f} % "
          f"(previous reader: {measured['previous'][1]['effect']:+.2f} %)")
    report = _in_process("report", str(logs), str(work / "cache-current"))
    print(f"HTML report (Plotly, {report['megabytes']:.1f} MB): {report['report_seconds']:.1f} s after a "
          f"{report['seconds']:.1f} s warm analysis of {int(report['lines']):,} lines "
          f"({report['report_seconds'] / report['seconds']:.2f}x the analysis)")
