"""A local Redis Cluster: N masters splitting the 16,384 hash slots, each with optional replicas.

Every node is a Debian ``redis-server`` started with ``--cluster-enabled yes`` on 127.0.0.1 (its cluster bus on
a second free port). The cluster is assembled with the cluster's own commands, as ``redis-cli --cluster create``
does: each master takes an equal range of slots (``CLUSTER ADDSLOTSRANGE``), every node meets the first
(``CLUSTER MEET``), each replica follows its master (``CLUSTER REPLICATE``), and ``up`` returns once every node
reports ``cluster_state:ok`` and sees the replicas.

Settings chosen for a lab on one machine: ``cluster-node-timeout`` 1 s (a killed master is failed over by its
replica within a few seconds) and ``cluster-require-full-coverage no`` (while one master's slots are being
failed over, the other masters keep serving theirs), ``repl-ping-replica-period`` 1 s (``CLUSTER SLOTS`` lists a
replica only once its replication offset has moved, which on an idle master takes one such ping) and no delay
before a replica's first sync. Persistence is off, as for the single instance.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from botify.cluster.redis_server import RedisServer
from botify.errors import LabError
from botify.service.process import free_port
from botify.state.resp import RedisConnection, RedisError
from botify.state.shards import SLOTS

__all__ = ["RedisCluster"]

NODE_TIMEOUT_MS = 1000


class RedisCluster:
    """``with RedisCluster(workdir, masters=3, replicas=1) as cluster: cluster.url``; ``kill_master(i)`` for drills."""

    def __init__(self, workdir: str | Path, *, masters: int = 3, replicas: int = 0) -> None:
        if masters < 1 or replicas < 0:
            raise LabError(f"a Redis Cluster needs at least one master, got {masters} masters, {replicas} replicas")
        self.workdir = Path(workdir)
        self.masters_count, self.replicas_per_master = masters, replicas
        self.masters: list[RedisServer] = []
        self.replicas: list[RedisServer] = []

    @property
    def url(self) -> str:
        """``redis-cluster://127.0.0.1:P1,127.0.0.1:P2,...`` (every master: any one would do)."""
        return "redis-cluster://" + ",".join(f"127.0.0.1:{server.port}" for server in self.masters)

    @property
    def servers(self) -> list[RedisServer]:
        """Every node, masters first."""
        return [*self.masters, *self.replicas]

    def _node(self, name: str) -> RedisServer:
        bus_port = free_port()
        return RedisServer(free_port(), self.workdir / name, options=(
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", str(bus_port),
            "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--cluster-require-full-coverage", "no",
            "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1"))

    def up(self, timeout: float = 30.0) -> RedisCluster:
        """Start every node, split the slots, join the nodes and attach the replicas; wait until the cluster is ok."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.masters = [self._node(f"master{i}") for i in range(self.masters_count)]
        self.replicas = [self._node(f"replica{i}-{j}") for i in range(self.masters_count)
                         for j in range(self.replicas_per_master)]
        try:
            for server in self.servers:
                (server.workdir / "nodes.conf").unlink(missing_ok=True)
                server.start()
            self._assemble(time.monotonic() + timeout)
        except BaseException:
            self.down()
            raise
        return self

    def _assemble(self, deadline: float) -> None:
        first = self.masters[0]
        bounds = [round(i * SLOTS / self.masters_count) for i in range(self.masters_count + 1)]
        for index, master in enumerate(self.masters):
            _call(master, "CLUSTER", "ADDSLOTSRANGE", bounds[index], bounds[index + 1] - 1)
        bus = _call(first, "CONFIG", "GET", "cluster-port")[1].decode()
        for server in self.servers[1:]:
            _call(server, "CLUSTER", "MEET", "127.0.0.1", first.port, bus)
        total = len(self.servers)
        _wait(lambda: all(len(_call(s, "CLUSTER", "NODES").splitlines()) == total for s in self.servers),
              deadline, "every node to know every other")
        for index, replica in enumerate(self.replicas):
            master = self.masters[index // self.replicas_per_master]
            _call(replica, "CLUSTER", "REPLICATE", _call(master, "CLUSTER", "MYID").decode())
        _wait(lambda: all(b"cluster_state:ok" in _call(s, "CLUSTER", "INFO") for s in self.servers) and
              self.listed_replicas() == len(self.replicas), deadline, "cluster_state:ok with every replica")

    def listed_replicas(self) -> int:
        """Replicas the first live master's ``CLUSTER SLOTS`` lists (replicas in sync with their masters)."""
        return sum(len(entry) - 3 for entry in self.slots())

    def slots(self) -> list[list[Any]]:
        """``CLUSTER SLOTS`` from the first node that answers."""
        for server in self.servers:
            if server.process is not None:
                try:
                    return list(_call(server, "CLUSTER", "SLOTS"))
                except RedisError:
                    continue
        raise LabError("no node of the Redis Cluster answers")

    def master_ports(self) -> set[int]:
        """The ports of the nodes that serve slots now."""
        return {int(entry[2][1]) for entry in self.slots()}

    def kill_master(self, index: int) -> RedisServer:
        """SIGKILL master ``index`` (a crash: no goodbye to its replicas or clients); returns its server."""
        server = self.masters[index]
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        server.process = None
        return server

    def wait_promoted(self, killed: RedisServer, timeout: float = 30.0) -> int:
        """Wait until a replica serves the killed master's slots; return the new master's port."""
        deadline = time.monotonic() + timeout
        _wait(lambda: killed.port not in self.master_ports() and len(self.master_ports()) == self.masters_count,
              deadline, f"a replica to take over the slots of port {killed.port}")
        replica_ports = {server.port for server in self.replicas}
        (promoted,) = self.master_ports() & replica_ports
        return promoted

    def down(self) -> None:
        """Stop every node."""
        for server in self.servers:
            server.stop()

    def __enter__(self) -> RedisCluster:
        return self.up()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.down()


def _call(server: RedisServer, *args: str | int) -> Any:
    client = RedisConnection(server.url, timeout=1.0)
    try:
        return client.call(*args)
    finally:
        client.close()


def _wait(condition: Callable[[], bool], deadline: float, what: str) -> None:
    while True:
        try:
            if condition():
                return
        except RedisError:
            pass
        if time.monotonic() > deadline:
            raise LabError(f"the Redis Cluster did not come up: timed out waiting for {what}")
        time.sleep(0.05)
