"""The cluster (nginx + 2 replicas + Redis state) under sustained wrk load.

Throughput, latency, errors, Redis round trips per request and CPU time per request of each process kind. On a
2-core machine the CPU split says more than throughput: every process competes for the same cores. The baseline from
the same run is one replica with in-process state, hit directly (no nginx, no Redis), so the ratios show what the
topology costs. CPU times come from ``/proc/PID/stat`` (utime + stime) before and after the load window. Two
experiments: the calibration arms (Random, StickyArtist, TopPop: stateless) and the report's (DSSM, custom, session;
the last two keep per-session state, on stand-in artifacts); wrk plays 7-track sessions (seven ``/next`` then a
``/last`` per user), each request with an ``X-Request-Id`` as the remote agent sends it. Both experiments run on the
eager front end (the default) and again on uvicorn (``botify serve --server uvicorn``), the direct replica's p99 at 16
connections measured too. The report arms run a third time with the replicas waiting for Redis in blocking calls
(``calls=blocking``, the path before awaited calls), so the two are compared in the same run, and a fourth time with
their state on a 3-master Redis Cluster, beside one Redis. Last, the CPU a client spends per counters call: ours on
one Redis and on the cluster, and redis-py's (maintained) cluster clients, to show why the store keeps its own RESP
client; and the app alone, its requests answered in-process without a server, the floor under any front end.
Needs ``wrk``, ``nginx`` and ``redis-server`` (Debian packages).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench_service import parse_wrk, wrk
from botify.cluster.topology import Cluster, ClusterSpec
from botify.service.process import ServiceProcess, free_port
from botify.testing.artifacts import random_report_artifacts, write_report_arms
from botify.world.catalog import load_catalog

_TICK = os.sysconf("SC_CLK_TCK")
# Sessions of 7 tracks: users 0..9999 in turn, every 8th request of a user is its /last.
_SESSIONS_LUA = """
counter = 0
run = os.time() .. "-" .. math.floor(os.clock() * 1e6)  -- request ids unique across wrk runs (warm-up, load)
request = function()
  local user = counter % 10000
  local step = math.floor(counter / 10000) % 8
  counter = counter + 1
  local body = '{"track": ' .. (counter * 7919 % 50000) .. ', "time": 0.5}'
  local kind = "/next/"
  if step == 7 then kind = "/last/" end
  local headers = {["Content-Type"] = "application/json", ["X-Request-Id"] = run .. "-" .. counter}
  return wrk.format("POST", kind .. user, headers, body)
end
"""


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICK


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def _round_trips(ports: list[int]) -> tuple[float, float]:
    """Summed state-store round trips and /next + /last requests over the replicas' /metrics."""
    trips = nexts = 0.0
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        trips += float(re.search(r"^botify_state_store_round_trips (\S+)$", text, re.M).group(1))  # type: ignore
        nexts += sum(float(m) for m in re.findall(r'^botify_requests_total\{endpoint="(?:next|last)",[^}]*\} (\S+)$',
                                                  text, re.M))
    return trips, nexts


def _measure(url: str, kinds: dict[str, list[int]], script: Path, seconds: int,
             replica_ports: list[int]) -> dict[str, float]:
    before = {kind: _cpu_seconds(pids) for kind, pids in kinds.items()}
    trips_before, nexts_before = _round_trips(replica_ports)
    wrk_process = subprocess.Popen(["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), url],
                                   stdout=subprocess.PIPE, text=True)
    _, _, usage = os.wait4(wrk_process.pid, 0)  # the load generator's own CPU time, exactly, at exit
    wrk_process.returncode = 0
    wrk_cpu = usage.ru_utime + usage.ru_stime
    output = wrk_process.stdout.read() if wrk_process.stdout else ""
    after = {kind: _cpu_seconds(pids) for kind, pids in kinds.items()}
    trips_after, nexts_after = _round_trips(replica_ports)
    parsed = parse_wrk(output)
    total = float(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result = {"rps": parsed["rps"], "requests": total, "p50_ms": parsed["p50_ms"], "p99_ms": parsed["p99_ms"],
              "errors": parsed["non_2xx"],
              "socket_errors": float(sum(int(g) for g in sockets.groups())) if sockets else 0.0,
              "round_trips_per_request": (trips_after - trips_before) / max(nexts_after - nexts_before, 1.0),
              "cpu_us_wrk": wrk_cpu / total * 1e6}
    for kind in kinds:
        result[f"cpu_us_{kind}"] = (after[kind] - before[kind]) / total * 1e6
    return result


def _pair(world_dir: Path, tmp: Path, name: str, plan: Path | None, artifacts: Path | None, script: Path,
          seconds: int, server: str = "eager") -> tuple[dict[str, float], dict[str, float]]:
    """The same plan on one direct replica (in-process state), then on the cluster, on ``server``'s front end.

    The direct replica's p99 at 16 connections is measured too (``p99_16_ms``).
    """
    extra = ["--server", server] + (["--artifacts", str(artifacts)] if artifacts else [])
    with ServiceProcess(world_dir, config=plan, log_dir=tmp / f"{name}-{server}-single", extra_args=extra) as single:
        assert single.process is not None
        wrk(single.url, 16, script, seconds=2)  # warm-up
        baseline = _measure(single.url, {"service": [single.process.pid]}, script, seconds, [single.port])
        baseline["p99_16_ms"] = wrk(single.url, 16, script, seconds=min(seconds, 10))["p99_ms"]
    return baseline, _cluster(world_dir, tmp, f"{name}-{server}", plan, artifacts, script, seconds, server=server)


def _cluster(world_dir: Path, tmp: Path, name: str, plan: Path | None, artifacts: Path | None, script: Path,
             seconds: int, *, blocking: bool = False, redis_shards: int = 0, tcp: bool = False,
             server: str = "eager") -> dict[str, float]:
    """nginx and 2 replicas with their state on one Redis, or on a Redis Cluster of ``redis_shards`` masters."""  # noqa: D403
    cluster = Cluster(ClusterSpec(world_dir=world_dir, workdir=tmp / f"{name}-cluster", replicas=2,
                                  port=free_port(), config=plan, artifacts=artifacts,
                                  blocking_state_calls=blocking, redis_shards=redis_shards, redis_over_tcp=tcp,
                                  server=server))
    cluster.up()
    try:
        assert cluster.nginx is not None
        redis = [cluster.redis] if cluster.redis is not None else []
        if cluster.redis_cluster is not None:
            redis = cluster.redis_cluster.servers
        replicas = [p.pid for p in cluster.replicas if p is not None]
        kinds = {"service": replicas, "nginx": [cluster.nginx.pid, *_children(cluster.nginx.pid)],
                 "redis": [server.process.pid for server in redis if server.process is not None]}
        wrk(cluster.url, 16, script, seconds=2)
        return _measure(cluster.url, kinds, script, seconds, cluster.replica_ports)
    finally:
        cluster.down()


def app_alone(world_dir: Path, plan: Path | None, artifacts: Path | None, log_dir: Path,
              requests: int = 100_000) -> float:
    """CPU µs per request of the app by itself: wrk's requests handed to ``BotifyApp.answer`` in this process.

    No server, no socket, no system call but the log's writes (a turn's lines, 64 requests, in one write): what
    any front end adds comes on top of this.
    """
    import time

    from botify.service.server import ServeOptions, build_app

    app = build_app(ServeOptions(world_dir, config=plan, artifacts=artifacts, log_dir=log_dir))
    app.started()
    app.hold_log()

    def answer(counter: int) -> None:  # the request the Lua script sends as its counter-th
        user, step = counter % 10000, (counter // 10000) % 8
        body = b'{"track": %d, "time": 0.5}' % (counter * 7919 % 50000)
        scope = {"type": "http", "method": "POST", "path": f"{'/last/' if step == 7 else '/next/'}{user}",
                 "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"bench-%d" % counter)],
                 "botify.arm": ""}

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        started = time.perf_counter()
        handler = app.answer(scope, receive, started)
        try:
            handler.send(None)  # the in-process store never awaits
        except StopIteration as done:
            app.observe(scope, done.value[0], started)
        else:
            raise AssertionError("the app awaited with an in-process store")

    warm_up = 20_000
    for counter in range(warm_up):
        answer(counter)
    started = time.process_time()
    for counter in range(warm_up, warm_up + requests):
        answer(counter)
        if counter % 64 == 0:
            app.flush_log()
    app.flush_log()
    return (time.process_time() - started) / requests * 1e6


def run(world_dir: Path, seconds: int = 30) -> None:
    if not all(shutil.which(tool) for tool in ("wrk", "nginx", "redis-server")):
        print("skipped: needs wrk, nginx and redis-server (apt-get install -y wrk nginx redis-server)")
        return
    results = {}
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        script = tmp / "sessions.lua"
        script.write_text(_SESSIONS_LUA)
        artifacts = random_report_artifacts(load_catalog(world_dir), 10_000, tmp / "artifacts")
        plan = write_report_arms(tmp / "report.yml")
        results["calibration arms (stateless)"] = _pair(world_dir, tmp, "calibration", None, None, script, seconds)
        results["report arms (custom, session)"] = _pair(world_dir, tmp, "report", plan, artifacts, script,
                                                          seconds)
        on_uvicorn = {"calibration arms (stateless)": _pair(world_dir, tmp, "calibration", None, None, script,
                                                            seconds, server="uvicorn"),
                      "report arms (custom, session)": _pair(world_dir, tmp, "report", plan, artifacts, script,
                                                             seconds, server="uvicorn")}
        blocking = _cluster(world_dir, tmp, "report-blocking", plan, artifacts, script, seconds, blocking=True)
        over_tcp = _cluster(world_dir, tmp, "report-redis-tcp", plan, artifacts, script, seconds, tcp=True)
        sharded = _cluster(world_dir, tmp, "report-redis-cluster", plan, artifacts, script, seconds, redis_shards=3)
        clients = client_cpu(tmp / "clients")
        alone = {"calibration arms (stateless)": app_alone(world_dir, None, None, tmp / "alone-calibration"),
                 "report arms (custom, session)": app_alone(world_dir, plan, artifacts, tmp / "alone-report")}
    print(f"{'setup':<52}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'RTT/req':>8}"
          f"{'service':>9}{'nginx':>7}{'redis':>7}{'wrk':>6}  (CPU µs per request)")
    for plan_name, (baseline, loaded) in results.items():
        for name, row in ((f"{plan_name}: 1 replica, in-process state", baseline),
                          (f"{plan_name}: nginx + 2 replicas + Redis", loaded)):
            print(f"{name:<52}{row['rps']:>8,.0f}{row['p50_ms']:>8.2f}{row['p99_ms']:>8.2f}"
                  f"{row['errors'] + row['socket_errors']:>7.0f}{row['round_trips_per_request']:>8.2f}"
                  f"{row['cpu_us_service']:>9.1f}{row.get('cpu_us_nginx', 0.0):>7.1f}"
                  f"{row.get('cpu_us_redis', 0.0):>7.1f}{row['cpu_us_wrk']:>6.1f}")
        print(f"  cluster / direct throughput {loaded['rps'] / baseline['rps']:.2f}x; service CPU per request "
              f"{loaded['cpu_us_service']:.0f} µs with Redis vs {baseline['cpu_us_service']:.0f} µs in-process "
              f"(goal <= 150 µs); Redis round trips per request {loaded['round_trips_per_request']:.2f} "
              f"(goal <= 1); errors {loaded['errors'] + loaded['socket_errors']:.0f} (goal 0)")
    stateful = results["report arms (custom, session)"][1]
    print(f"report arms, replicas waiting for Redis in blocking calls (the previous path), same run: "
          f"{blocking['rps']:,.0f} req/s, service {blocking['cpu_us_service']:.0f} µs, Redis "
          f"{blocking['cpu_us_redis']:.0f} µs per request; awaited on the event loop {stateful['rps']:,.0f} req/s, "
          f"{stateful['cpu_us_service']:.0f} µs ({blocking['cpu_us_service'] / stateful['cpu_us_service']:.2f}x less "
          f"service CPU, {stateful['rps'] / blocking['rps']:.2f}x the throughput)")
    print()
    print("front ends, same run: the eager one (the default) vs uvicorn (--server uvicorn), CPU µs of the service per "
          "request:")
    print(f"{'setup':<62}{'eager':>8}{'uvicorn':>9}{'ratio':>7}{'req/s ratio':>12}{'p99@16 eager/uvicorn':>22}")
    for plan_name, (baseline, loaded) in results.items():
        old_baseline, old_loaded = on_uvicorn[plan_name]
        for name, new, old in ((f"{plan_name}: 1 replica, in-process state", baseline, old_baseline),
                               (f"{plan_name}: nginx + 2 replicas + Redis", loaded, old_loaded)):
            p99 = (f"{new['p99_16_ms']:.2f} / {old['p99_16_ms']:.2f} ms" if "p99_16_ms" in new else "")
            print(f"{name:<62}{new['cpu_us_service']:>8.1f}{old['cpu_us_service']:>9.1f}"
                  f"{new['cpu_us_service'] / old['cpu_us_service']:>6.2f}x{new['rps'] / old['rps']:>11.2f}x{p99:>22}")
    print("the app alone (BotifyApp.answer called in this process, no server or socket), CPU µs per request, against "
          "half of uvicorn's direct replica:")
    for plan_name, micros in alone.items():
        half = on_uvicorn[plan_name][0]["cpu_us_service"] / 2
        print(f"  {plan_name:<40}{micros:>7.1f} µs; half of uvicorn's {half:.1f} µs leaves {half - micros:+.1f} µs "
              f"for any front end and the kernel")
    print()
    print("report arms (stateful), state on 1 Redis vs a 3-master Redis Cluster, same run (CPU µs per request):")
    print(f"{'state':<32}{'req/s':>8}{'p99 ms':>8}{'errors':>7}{'RTT/req':>8}{'service':>9}{'redis':>7}")
    for name, row in (("1 Redis (Unix socket)", stateful), ("1 Redis (TCP)", over_tcp),
                      ("Redis Cluster, 3 masters (TCP)", sharded)):
        print(f"{name:<32}{row['rps']:>8,.0f}{row['p99_ms']:>8.2f}{row['errors'] + row['socket_errors']:>7.0f}"
              f"{row['round_trips_per_request']:>8.2f}{row['cpu_us_service']:>9.1f}{row['cpu_us_redis']:>7.1f}")
    for name, single in (("its Unix socket", stateful), ("TCP", over_tcp)):
        print(f"  cluster / 1 Redis over {name}: throughput {sharded['rps'] / single['rps']:.2f}x, service CPU per "
              f"request {sharded['cpu_us_service'] / single['cpu_us_service']:.2f}x, Redis CPU per request "
              f"{sharded['cpu_us_redis'] / single['cpu_us_redis']:.2f}x")
    print()
    print("client CPU per counters call (one EVALSHA each, same run; on the 3-master Redis Cluster unless said):")
    ours = clients["botify RESP client, awaited"]
    for name, micros in clients.items():
        print(f"  {name:<46}{micros:>7.1f} µs  ({micros / ours:.2f}x ours on the cluster, awaited)")


def client_cpu(workdir: Path, calls: int = 20_000) -> dict[str, float]:
    """CPU µs this process spends per counters call: our client on 1 Redis and on a cluster, and redis-py.s.

    Every client runs the store's counters script with the same keys (one slot per user) one call at a time, so
    the figure is the client's own cost per round trip: what a replica spends besides the request itself.
    """
    import asyncio
    import time

    import redis
    import redis.asyncio.cluster

    from botify.cluster.redis_cluster import RedisCluster
    from botify.cluster.redis_server import RedisServer
    from botify.state.redis import _NEXT, RedisStore

    def per_call(started: float) -> float:
        return (time.process_time() - started) / calls * 1e6

    users = [user % 5000 for user in range(calls)]

    def ours(url: str) -> tuple[float, float]:
        blocking = RedisStore(url + ("&" if "?" in url else "?") + "calls=blocking", prefix="bench-blocking")
        started = time.process_time()
        for user in users:
            blocking.next_step(user)
        blocking_cpu = per_call(started)
        blocking.close()
        awaited = RedisStore(url, prefix="bench-awaited")

        async def play() -> float:
            started = time.process_time()
            for user in users:
                await awaited.next_step_async(user)
            spent = per_call(started)
            awaited.close()
            return spent

        return blocking_cpu, asyncio.run(play())

    results = {}
    with RedisServer(free_port(), workdir / "single") as single:
        results["botify RESP client, 1 Redis (TCP), blocking"], results["botify RESP client, 1 Redis (TCP), awaited"] \
            = ours(single.url)
    with RedisCluster(workdir / "cluster", masters=3) as cluster:
        results["botify RESP client, blocking"], results["botify RESP client, awaited"] = ours(cluster.url)

        nodes = [redis.cluster.ClusterNode("127.0.0.1", s.port) for s in cluster.masters]  # type: ignore[no-untyped-call]
        client = redis.cluster.RedisCluster(startup_nodes=nodes)
        script = client.register_script(_NEXT)
        started = time.process_time()
        for user in users:
            script(keys=[f"bench-py:{{{user}}}:c", f"bench-py:{{{user}}}:s"], args=[int(time.time() * 1000), 60000])
        results["redis-py RedisCluster"] = per_call(started)
        client.close()

        async def theirs() -> float:
            anodes = [redis.asyncio.cluster.ClusterNode("127.0.0.1", s.port) for s in cluster.masters]
            aclient = redis.asyncio.cluster.RedisCluster(startup_nodes=anodes)
            ascript = aclient.register_script(_NEXT)
            started = time.process_time()
            for user in users:
                await ascript(keys=[f"bench-apy:{{{user}}}:c", f"bench-apy:{{{user}}}:s"],
                              args=[int(time.time() * 1000), 60000])
            spent = per_call(started)
            await aclient.aclose()
            return spent

        results["redis-py asyncio RedisCluster"] = asyncio.run(theirs())
    return results
