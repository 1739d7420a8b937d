"""Service throughput and latency of ``POST /next`` on loopback with wrk, against an nginx ceiling.

Every figure comes from this run: nginx ``return 200`` of a fixed JSON body (the ceiling of an HTTP server on
this machine), our service with one and two workers at 1, 16 and 64 connections, and the remote simulator's
own throughput as a fraction of the service's measured capacity. Needs ``wrk`` and ``nginx`` on PATH
(Debian: ``apt-get install -y wrk nginx``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from botify.service.process import ServiceProcess, free_port

LUA_NEXT = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"track": ' .. (counter * 7919 % 50000) .. ', "time": 0.5}'
  return wrk.format("POST", "/next/" .. (counter % 10000), {["Content-Type"] = "application/json"}, body)
end
"""

_NGINX = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{{"user":1,"track":2}}'; }}
  }}
}}
"""

CONNECTIONS = (1, 16, 64)


def wrk(url: str, connections: int, script: Path, seconds: int = 5) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True, capture_output=True, text=True,
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50/p99 in ms, non-2xx responses and whether there were socket errors, from wrk's report."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)

    def percentile(name: str) -> float:
        value, unit = re.search(rf"{name}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    return {"rps": rate, "p50_ms": percentile("50"), "p99_ms": percentile("99"),
            "non_2xx": float(errors.group(1)) if errors else 0.0, "socket_errors": 1.0 if socket_errors else 0.0}


def _nginx(tmp: Path, script: Path) -> dict[int, dict[str, float]]:
    port = free_port()
    (tmp / "nginx.conf").write_text(_NGINX.format(dir=tmp, port=port))
    process = subprocess.Popen(["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        return {c: wrk(f"http://127.0.0.1:{port}", c, script) for c in CONNECTIONS}
    finally:
        process.terminate()
        process.wait()


def _remote_simulation(world_dir: Path, tmp: Path) -> float:
    from botify.sim.agents import RemoteAgent
    from botify.sim.world import load_sim_world

    world = load_sim_world(world_dir)
    with ServiceProcess(world_dir, log_dir=tmp / "sim-log") as service:
        agent = RemoteAgent(world, service.url, concurrency=16)
        start = time.perf_counter()
        agent.play(range(15_000), seed=1)
        return agent.requests_sent / (time.perf_counter() - start)


def run(world_dir: Path) -> None:
    if not (shutil.which("wrk") and shutil.which("nginx")):
        print("skipped: needs wrk and nginx on PATH (apt-get install -y wrk nginx)")
        return
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        script = tmp / "next.lua"
        script.write_text(LUA_NEXT)
        ceiling = _nginx(tmp, script)
        ours: dict[int, dict[int, dict[str, float]]] = {}
        for workers in (1, 2):
            with ServiceProcess(world_dir, log_dir=tmp / f"log-{workers}", workers=workers) as service:
                wrk(service.url, 16, script, seconds=1)  # warm-up
                ours[workers] = {c: wrk(service.url, c, script) for c in CONNECTIONS}
        simulated = _remote_simulation(world_dir, tmp)
    print(f"{'server':<28}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'of nginx':>10}{'errors':>8}")
    for c in CONNECTIONS:
        print(f"{'nginx return 200 (1 proc)':<28}{c:>6}{ceiling[c]['rps']:>10,.0f}{ceiling[c]['p50_ms']:>9.3f}"
              f"{ceiling[c]['p99_ms']:>9.3f}{'100%':>10}{ceiling[c]['non_2xx']:>8.0f}")
    for workers, rows in ours.items():
        for c, row in rows.items():
            print(f"{f'botify /next ({workers} worker)':<28}{c:>6}{row['rps']:>10,.0f}{row['p50_ms']:>9.3f}"
                  f"{row['p99_ms']:>9.3f}{row['rps'] / ceiling[c]['rps']:>10.1%}{row['non_2xx']:>8.0f}")
    capacity = ours[1][16]["rps"]
    print(f"goal: >= 15,000 req/s and p99 <= 2 ms at 16 connections, 1 worker: "
          f"{capacity:,.0f} req/s, p99 {ours[1][16]['p99_ms']:.2f} ms")
    print(f"remote simulator (16 sessions in flight, 1 worker): {simulated:,.0f} req/s = "
          f"{simulated / capacity:.0%} of the service's capacity at 16 connections (goal >= 70%)")
