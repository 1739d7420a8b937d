"""``botify cluster up/down``: Redis, N service replicas and nginx in front of them, as local processes.

The same topology as ``deploy/docker-compose.yml``: nginx on ``port`` balances the replicas (round robin,
keep-alive connections to the upstreams, a refused connection is retried on the next replica), every replica
keeps its per-user state in the one Redis — or, with ``redis_shards``, in a Redis Cluster of that many masters
(``cluster/redis_cluster.py``) — and writes its log to ``DIR/replicaI/log``. The cluster's processes
and ports are recorded in ``DIR/cluster.json`` so that ``down`` (from another command) can stop them:
replicas get SIGTERM (in-flight requests finish, logs are flushed), nginx SIGQUIT (graceful), Redis SIGTERM.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from botify.cluster.redis_cluster import RedisCluster
from botify.cluster.redis_server import RedisServer
from botify.errors import LabError
from botify.service.process import free_port

__all__ = ["Cluster", "ClusterSpec", "nginx_config"]

_NGINX = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/nginx-tmp;
  proxy_temp_path {dir}/nginx-tmp;
  fastcgi_temp_path {dir}/nginx-tmp;
  uwsgi_temp_path {dir}/nginx-tmp;
  scgi_temp_path {dir}/nginx-tmp;
  upstream botify {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 8k;
    location / {{
      proxy_pass http://botify;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 1s;
      proxy_read_timeout 10s;
      # A connection error (refused: the replica is stopping or down; reset: an idle keep-alive connection it
      # closed) is retried on the next replica, POST included: a stopping replica finishes the requests it
      # read, so only a crash between processing and answering can make a retry repeat a request.
      proxy_next_upstream error non_idempotent;
      proxy_next_upstream_tries 3;
    }}
  }}
}}
"""


def nginx_config(workdir: Path, port: int, replica_ports: list[int]) -> str:
    """nginx.conf balancing ``replica_ports`` on ``port`` (keep-alive upstreams, failover on connection errors)."""
    # max_fails=0: never mark a replica dead; a refused connection is instant on loopback and fails over at once.
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in replica_ports)
    return _NGINX.format(dir=workdir, port=port, servers=servers)


@dataclass
class ClusterSpec:
    """What to run and where."""

    world_dir: Path
    workdir: Path = Path("runs/cluster")
    replicas: int = 2
    port: int = 5001
    config: Path | None = None
    artifacts: Path | None = None
    redis_port: int = 0  # 0: a free port
    redis_over_tcp: bool = False  # replicas reach Redis on its TCP port instead of its Unix socket
    blocking_state_calls: bool = False  # replicas wait for Redis in blocking calls (the path before awaited ones)
    redis_shards: int = 0  # > 0: a Redis Cluster of that many masters instead of one Redis
    redis_replicas: int = 0  # replicas per Redis Cluster master
    server: str = "eager"  # each replica's HTTP front end (botify serve --server)


@dataclass
class _State:
    port: int
    redis_port: int
    redis_pid: int
    nginx_pid: int
    replica_ports: list[int] = field(default_factory=list)
    replica_pids: list[int] = field(default_factory=list)
    redis_cluster_pids: list[int] = field(default_factory=list)


class Cluster:
    """Start, inspect, break and stop the local topology (``up``/``down`` also work across commands)."""

    def __init__(self, spec: ClusterSpec, *, detach: bool = False) -> None:
        self.spec = spec
        self.workdir = spec.workdir.resolve()
        self.detach = detach
        self.redis: RedisServer | None = None
        self.redis_cluster: RedisCluster | None = None
        self.replicas: list[subprocess.Popen[bytes] | None] = []
        self.replica_ports: list[int] = []
        self.nginx: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where clients send requests (nginx)."""
        return f"http://127.0.0.1:{self.spec.port}"

    @property
    def state_url(self) -> str:
        """The state URL every replica uses: Redis's Unix socket (they share this machine), or the cluster's nodes."""
        if self.redis_cluster is not None:
            url = self.redis_cluster.url
        else:
            assert self.redis is not None
            url = self.redis.url if self.spec.redis_over_tcp else self.redis.local_url
        if self.spec.blocking_state_calls:
            url += ("&" if "?" in url else "?") + "calls=blocking"
        return url

    def replica_log_dir(self, index: int) -> Path:
        """``DIR/replicaI/log``."""
        return self.workdir / f"replica{index}" / "log"

    def up(self, timeout: float = 60.0) -> Cluster:
        """Start Redis, the replicas (wait until each is ready), then nginx; record them in ``cluster.json``."""
        if shutil.which("nginx") is None:
            raise LabError("nginx not found: install Debian's nginx (apt-get install -y nginx)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.spec.redis_shards:
            self.redis_cluster = RedisCluster(self.workdir / "redis-cluster", masters=self.spec.redis_shards,
                                              replicas=self.spec.redis_replicas).up()
        else:
            self.redis = RedisServer(self.spec.redis_port or free_port(), self.workdir / "redis").start()
        self.replica_ports = [free_port() for _ in range(self.spec.replicas)]
        self.replicas = [self._start_replica(i) for i in range(self.spec.replicas)]
        for index in range(self.spec.replicas):
            self.wait_ready(index, timeout)
        (self.workdir / "nginx-tmp").mkdir(exist_ok=True)
        conf = self._write_nginx_config()
        self.nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.workdir)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=self.detach)
        self._wait_http(self.url + "/health", timeout, "nginx")
        self._save()
        return self

    def _write_nginx_config(self) -> Path:
        conf = self.workdir / "nginx.conf"
        conf.write_text(nginx_config(self.workdir, self.spec.port, self.replica_ports))
        return conf

    def _start_replica(self, index: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "botify.cli", "serve", "--catalog", str(self.spec.world_dir),
                   "--port", str(self.replica_ports[index]), "--log-dir", str(self.replica_log_dir(index)),
                   "--state", self.state_url, "--server", self.spec.server]
        if self.spec.config is not None:
            command += ["--config", str(self.spec.config)]
        if self.spec.artifacts is not None:
            command += ["--artifacts", str(self.spec.artifacts)]
        out = self.workdir / f"replica{index}" / "service.out"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("ab") as handle:
            return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=self.detach)

    def wait_ready(self, index: int, timeout: float = 60.0) -> None:
        """Wait until replica ``index`` answers ``/ready`` with 200."""
        self._wait_http(f"http://127.0.0.1:{self.replica_ports[index]}/ready", timeout, f"replica {index}",
                        self.replicas[index])

    def _wait_http(self, url: str, timeout: float, what: str,
                   process: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise LabError(f"{what} exited with {process.returncode}; see {self.workdir}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise LabError(f"{what} did not become ready at {url} within {timeout:.0f} s; see {self.workdir}")

    def kill_replica(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to replica ``index`` (SIGKILL: a crash; SIGTERM: a graceful stop) and wait for it."""
        process = self.replicas[index]
        if process is None:
            return
        process.send_signal(sig)
        process.wait(timeout=30)
        self.replicas[index] = None

    def start_replica(self, index: int, timeout: float = 60.0) -> None:
        """(Re)start replica ``index`` on its port and wait until it is ready."""
        self.replicas[index] = self._start_replica(index)
        self.wait_ready(index, timeout)
        self._save()

    def restart_replica(self, index: int) -> None:
        """Graceful rolling restart of one replica: SIGTERM, then start it again and wait until it is ready.

        On SIGTERM it stops accepting, finishes the requests it read and flushes its log; nginx sends new ones
        to the other replicas.
        """
        self.kill_replica(index, signal.SIGTERM)
        self.start_replica(index)

    def down(self) -> None:
        """Stop nginx (graceful), the replicas (SIGTERM: logs flushed) and Redis."""
        if self.nginx is not None:
            self.nginx.send_signal(signal.SIGQUIT)
            self.nginx.wait(timeout=30)
            self.nginx = None
        for index in range(len(self.replicas)):
            self.kill_replica(index, signal.SIGTERM)
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.redis_cluster is not None:
            self.redis_cluster.down()
            self.redis_cluster = None
        (self.workdir / "cluster.json").unlink(missing_ok=True)

    def _save(self) -> None:
        assert self.nginx is not None
        redis = self.redis.process if self.redis is not None else None
        cluster = self.redis_cluster.servers if self.redis_cluster is not None else []
        state = _State(self.spec.port, self.redis.port if self.redis is not None else 0,
                       redis.pid if redis is not None else 0, self.nginx.pid, self.replica_ports,
                       [p.pid if p is not None else 0 for p in self.replicas],
                       [s.process.pid for s in cluster if s.process is not None])
        (self.workdir / "cluster.json").write_text(json.dumps(asdict(state), indent=2) + "\n")

    @staticmethod
    def stop_recorded(workdir: Path, timeout: float = 30.0) -> list[str]:
        """``botify cluster down``: stop the processes ``cluster.json`` records; return what was stopped."""
        path = workdir / "cluster.json"
        if not path.exists():
            raise LabError(f"no cluster recorded in {path}: nothing to stop")
        state = _State(**json.loads(path.read_text()))
        stopped = []
        plan = [("nginx", state.nginx_pid, signal.SIGQUIT)]
        plan += [(f"replica {i}", pid, signal.SIGTERM) for i, pid in enumerate(state.replica_pids) if pid]
        plan += [("redis", state.redis_pid, signal.SIGTERM)] if state.redis_pid else []
        plan += [(f"redis cluster node {i}", pid, signal.SIGTERM) for i, pid in enumerate(state.redis_cluster_pids)]
        for name, pid, sig in plan:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            stopped.append(f"{name} (pid {pid})")
        path.unlink()
        return stopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # reap it if it is our child (a zombie still answers kill 0)
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return finished == 0
