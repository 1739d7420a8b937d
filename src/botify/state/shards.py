"""Which Redis serves a user's keys: the one instance, or the Redis Cluster master that owns the user's hash slot.

Every key of a user carries the hash tag ``{user}`` (``botify:{42}:c``), so all of them live in one slot and a
request's script touches one master. A slot is CRC16/XMODEM of the tag modulo 16,384 (``binascii.crc_hqx``
computes that CRC in C). The slot map comes from ``CLUSTER SLOTS`` on any reachable node and is refreshed when
a node answers ``MOVED`` or a failed master's slots have to be found again after a failover.

URLs: ``redis://HOST:PORT/DB`` or ``unix:///path.sock?db=N`` name one instance; ``redis-cluster://HOST:PORT,
HOST:PORT,...`` names a cluster by a few of its nodes (any one is enough to learn the rest; database 0 only).
"""

from __future__ import annotations

import binascii
import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from botify.errors import ConfigError
from botify.state.pipeline import RedisPipeline
from botify.state.resp import RedisConnection, RedisError

__all__ = ["SLOTS", "RedisNode", "Shards", "cluster_seeds", "key_slot", "redirection", "user_slot"]

logger = logging.getLogger(__name__)

SLOTS = 16384
_CLUSTER_SCHEME = "redis-cluster://"


def user_slot(user: int) -> int:
    """The hash slot of every key tagged ``{user}``."""
    return binascii.crc_hqx(str(user).encode(), 0) & (SLOTS - 1)


def key_slot(key: bytes) -> int:
    """The hash slot of any key, by Redis Cluster's rule (the hash tag between the first ``{`` and ``}`` if any)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return binascii.crc_hqx(key, 0) & (SLOTS - 1)


def cluster_seeds(url: str) -> list[tuple[str, int]]:
    """The ``HOST:PORT`` list of a ``redis-cluster://`` URL."""
    rest = url[len(_CLUSTER_SCHEME):]
    netloc, _, path = rest.partition("?")[0].partition("/")
    if path.strip("/") not in ("", "0"):
        raise ConfigError(f"a Redis Cluster has database 0 only, got {url!r}")
    seeds = []
    for part in netloc.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"a Redis Cluster URL lists HOST:PORT nodes separated by commas, got {url!r}")
        seeds.append((host, int(port)))
    return seeds


def redirection(message: str) -> tuple[str, tuple[str, int]] | None:
    """``("MOVED" | "ASK", (host, port))`` for a redirection error, else ``None``."""
    kind, _, rest = message.partition(" ")
    if kind not in ("MOVED", "ASK"):
        return None
    host, _, port = rest.partition(" ")[2].rpartition(":")
    return kind, (host, int(port))


@dataclass(eq=False)
class RedisNode:
    """One Redis process: a blocking connection, an event-loop pipeline, whether the store uses it now."""

    address: tuple[str, int] | str
    client: RedisConnection
    pipeline: RedisPipeline
    available: bool = True  # False from a failed call until a probe finds it (or its successor) again

    def close(self) -> None:
        """Drop both connections (the next call reopens them)."""
        self.client.close()
        if self.pipeline.connected:
            self.pipeline.close()


class Shards:
    """The nodes behind a state URL and the route from a user to one of them."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url, self.timeout = url, timeout
        self.is_cluster = url.startswith(_CLUSTER_SCHEME)
        self._lock = threading.Lock()
        self._nodes: dict[tuple[str, int] | str, RedisNode] = {}
        if not self.is_cluster:
            client = RedisConnection(url, timeout=timeout)
            node = RedisNode(client.address, client,
                             RedisPipeline(client.address, database=client.db, timeout=timeout))
            self._nodes[node.address] = node
            self._table: list[RedisNode] = [node]
            return
        query = url.partition("?")[2]
        if parse_qs(query).get("db", ["0"])[-1] != "0":
            raise ConfigError(f"a Redis Cluster has database 0 only, got {url!r}")
        self.seeds: list[tuple[str, int]] = cluster_seeds(url)
        self._table = []
        if not self.refresh():  # not up yet: every user goes to the first seed until a refresh finds the map
            self._table = [self.node_at(self.seeds[0])] * SLOTS

    def node(self, user: int) -> RedisNode:
        """The node that serves ``user``'s keys (as far as the last slot map knows)."""
        table = self._table
        return table[user_slot(user)] if self.is_cluster else table[0]

    @property
    def nodes(self) -> list[RedisNode]:
        """The nodes the current route uses (masters for a cluster), each once."""
        return list(dict.fromkeys(self._table))

    def node_at(self, address: tuple[str, int] | str) -> RedisNode:
        """The node at ``address``, created on first use."""
        with self._lock:
            node = self._nodes.get(address)
            if node is None:
                assert isinstance(address, tuple)
                url = f"redis://{address[0]}:{address[1]}/0"
                node = RedisNode(address, RedisConnection(url, timeout=self.timeout),
                                 RedisPipeline(address, timeout=self.timeout))
                self._nodes[address] = node
            return node

    def refresh(self) -> bool:
        """Read the slot map from the first node that answers ``CLUSTER SLOTS``; ``False`` if none did.

        A slot no master serves keeps its old node (calls to it fail and go to the fallback until it is served).
        """
        if not self.is_cluster:
            return True
        candidates = list(dict.fromkeys([*(n.address for n in self.nodes), *self.seeds]))
        for address in candidates:
            assert isinstance(address, tuple)
            probe = RedisConnection(f"redis://{address[0]}:{address[1]}/0", timeout=self.timeout * 4)
            try:
                reply = probe.call("CLUSTER", "SLOTS")
            except RedisError:
                continue
            finally:
                probe.close()
            self._install(reply, address[0])
            return True
        return False

    def _install(self, reply: list[Any], asked_host: str) -> None:
        table: list[RedisNode | None] = list(self._table) if self._table else [None] * SLOTS
        for entry in reply:
            start, end, master = int(entry[0]), int(entry[1]), entry[2]
            host = master[0].decode() if master[0] else asked_host  # an empty host: the node we asked
            node = self.node_at((host, int(master[1])))
            table[start:end + 1] = [node] * (end - start + 1)
        first = self.node_at(self.seeds[0])
        missing = sum(node is None for node in table)
        if missing:
            logger.warning("the Redis Cluster serves no node for %d slots", missing)
        self._table = [first if node is None else node for node in table]
        logger.info("Redis Cluster slot map: %d masters", len(self.nodes))

    def moved(self, slot: int, address: tuple[str, int]) -> RedisNode:
        """A node answered ``MOVED slot address``: route that slot there now, and read the whole map again."""
        node = self.node_at(address)
        table = list(self._table)
        table[slot] = node
        self._table = table
        self.refresh()
        return self._table[slot]

    def close(self) -> None:
        """Close every node's connections."""
        for node in list(self._nodes.values()):
            node.close()
