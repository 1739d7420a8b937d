"""A/B analysis at scale: 10,000,000 and 100,000,000 log lines in several replica files, read, sessionized, compared.

Every measurement runs in its own process (its peak memory is its own), cold (Parquet conversion included) and
warm (cached copies), on the same logs in the same run:

- the bounded path (``analyze_logs(memory="4GB")``, the CLI's default): DuckDB sorts the lines under its memory
  limit, spilling to disk, and Python keeps only the sessions (``botify.logs.bounded``);
- the in-memory path as it was before it (every line in numpy; each file converted in one run, not streamed in
  runs of lines): today's path, the baseline of the ratios;
- the previous columnar reader (``baseline_columnar.py``: DuckDB splits and parses each file in one statement);
- a straightforward pandas implementation (``read_json(lines=True)``, sort, groupby) on a 1,000,000-line subset.

Then the bounded path on 100,000,000 lines, generated on the fly, with the disk it used (logs, Parquet copies and
DuckDB's largest spill). First, the time a fresh interpreter takes to import the analysis, today against the
previous imports (scipy.stats and pandas, loaded until 2026-12-04). ``BOTIFY_BENCH_AB_DIR`` keeps the generated
logs and their copies between runs (a temporary directory by default).
"""

from __future__ import annotations

import json
import resource
import shutil
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


def _columnar(logs: str, cache: str, reader: str = "bounded", table: str = "") -> dict[str, float]:
    """One analysis: ``bounded`` (4GB), ``in-memory`` (every line in numpy, whole-file conversion), ``previous``."""
    import threading

    from botify.ab.analyze import analyze_logs
    from botify.logs import columnar, parquet_copy

    if reader == "previous":
        import baseline_columnar

        columnar.read_events_columnar = baseline_columnar.read_events_columnar
    if reader == "in-memory":
        parquet_copy._CHUNK_BYTES = 1 << 62  # each file in one run, as before runs of lines
    spill = Path(cache) / "spill"
    largest_spill = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            size = sum(f.stat().st_size for f in spill.glob("**/*") if f.is_file()) if spill.exists() else 0
            largest_spill[0] = max(largest_spill[0], size)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    analysis = analyze_logs([logs], "BENCH", cache_dir=cache, memory="4GB" if reader == "bounded" else None)
    elapsed = time.perf_counter() - started
    done.set()
    if table:
        Path(table).write_text(analysis.markdown())
    row = next(r for r in analysis.rows if r.metric == "mean_time_per_session")
    return {"seconds": elapsed, "lines": analysis.read.lines, "effect": row.effect,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "spill_bytes": largest_spill[0]}


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


def _disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("**/*") if f.is_file()) if path.exists() else 0


def run(work: Path, lines: int = LINES, subset: int = SUBSET, large: int = 10 * LINES) -> None:
    import os

    work = Path(os.environ.get("BOTIFY_BENCH_AB_DIR", work))
    analysis_import()
    logs = work / "logs"
    if not (logs / "replica0" / "data.json").exists():
        write_logs(logs, lines, REPLICAS)
    measured: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    for reader in ("in-memory", "bounded", "previous"):
        cache = work / f"cache-{reader}"
        shutil.rmtree(cache, ignore_errors=True)  # cold: every copy converted again
        tables = [str(work / f"table-{reader}-{when}.md") for when in ("cold", "warm")]
        measured[reader] = (_in_process("columnar", str(logs), str(cache), reader, tables[0]),
                            _in_process("columnar", str(logs), str(cache), reader, tables[1]))
    baseline = _in_process("pandas", str(logs), str(subset))
    print(f"{'path':<44} {'lines':>12} {'seconds':>8} {'events/s':>12} {'peak MiB':>9} {'vs pandas':>9} "
          f"{'vs in-memory':>12}")
    base_rate = baseline["lines"] / baseline["seconds"]
    rows: list[tuple[str, dict[str, float], dict[str, float] | None]] = [
        ("pandas groupby (1M subset)", baseline, None)]
    names = {"in-memory": "in-memory (today's path)", "bounded": "bounded, 4GB", "previous": "previous reader"}
    for reader in ("in-memory", "bounded", "previous"):
        cold, warm = measured[reader]
        rows += [(f"{names[reader]}, cold (conversion)", cold, measured["in-memory"][0]),
                 (f"{names[reader]}, warm (cached)", warm, measured["in-memory"][1])]
    for name, result, today in rows:
        rate = result["lines"] / result["seconds"]
        versus = f"{today['seconds'] / result['seconds']:>11.2f}x" if today else f"{'':>12}"
        print(f"{name:<44} {int(result['lines']):>12,} {result['seconds']:>8.1f} {rate:>12,.0f} "
              f"{result['peak_mib']:>9,.0f} {rate / base_rate:>8.1f}x {versus}")
    same = (work / "table-bounded-warm.md").read_text() == (work / "table-in-memory-warm.md").read_text()
    cold, today = measured["bounded"][0], measured["in-memory"][0]
    print(f"10M lines: bounded cold {cold['seconds']:.1f} s vs today's {today['seconds']:.1f} s "
          f"({cold['seconds'] / today['seconds']:.2f}x the time; goal <= 1.00x), peak {cold['peak_mib']:,.0f} vs "
          f"{today['peak_mib']:,.0f} MiB; the same Markdown report, table included: {'yes' if same else 'NO'}")
    _large(work / "large", large)
    report = _in_process("report", str(logs), str(work / "cache-bounded"))
    print(f"HTML report (Plotly, {report['megabytes']:.1f} MB): {report['report_seconds']:.1f} s after a "
          f"{report['seconds']:.1f} s warm analysis of {int(report['lines']):,} lines "
          f"({report['report_seconds'] / report['seconds']:.2f}x the analysis)")


def _large(work: Path, lines: int) -> None:
    """The bounded path on ``lines`` lines (generated if missing), cold then warm, and the disk it used."""
    logs = work / "logs"
    work.mkdir(parents=True, exist_ok=True)
    needed = lines * 330  # bytes: the logs (~240 per line), their copies and DuckDB's spill, measured at 100 M
    have = shutil.disk_usage(work).free + _disk(logs)
    if have < needed:
        print(f"{lines:,} lines skipped: they need about {needed / 1e9:.0f} GB of disk in {work}, "
              f"{have / 1e9:.0f} GB free (BOTIFY_BENCH_AB_DIR chooses where)")
        return
    if not (logs / "replica0" / "data.json").exists():
        shutil.rmtree(logs, ignore_errors=True)
        write_logs(logs, lines, REPLICAS)
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cold = _in_process("columnar", str(logs), str(cache), "bounded")
    warm = _in_process("columnar", str(logs), str(cache), "bounded")
    copies = _disk(cache) - _disk(cache / "spill")
    print(f"{int(cold['lines']):,} lines, bounded, 4GB: cold {cold['seconds']:.0f} s (peak {cold['peak_mib']:,.0f} "
          f"MiB), warm {warm['seconds']:.0f} s (peak {warm['peak_mib']:,.0f} MiB); goal: peak <= 4,096 MiB. Disk: "
          f"logs {_disk(logs) / 1e9:.1f} GB, Parquet copies {copies / 1e9:.1f} GB, DuckDB's largest spill "
          f"{max(cold['spill_bytes'], warm['spill_bytes']) / 1e9:.1f} GB; effect {warm['effect']:+.3f} %")
