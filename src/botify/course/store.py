"""A Redis-compatible store for the course's recommenders: in this process, or on a real Redis.

The course's service keeps its data in Redis databases and hands the connections to its recommenders, which call
``get``, ``set``, ``mget``, ``exists`` and ``randomkey``. ``CourseRedis`` answers those calls as redis-py does —
keys and values are stored as bytes (an int key 5 is ``b"5"``), ``get`` of a missing key is ``None`` — either
from a dict or from a real Redis or Redis Cluster (``url``), where its keys live under ``botify:course:{name}:``.
``randomkey`` draws among the keys the lab uploaded with Python's ``random``, which the lab seeds per request, so
the same seed gives the same answers on either backend.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Iterable
from typing import Any

__all__ = ["CourseRedis"]

_PIPELINE_CHUNK = 10_000


def _bytes(value: Any, what: str) -> bytes:
    """A key or value as redis-py encodes it."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value).encode()
    raise TypeError(f"invalid {what} {value!r}: Redis takes bytes, str, int or float")


def _connect(url: str) -> Any:
    """redis-py's client for a state URL: one Redis, or a Redis Cluster (``redis-cluster://HOST:PORT,...``)."""
    import redis

    if not url.startswith("redis-cluster://"):
        return redis.Redis.from_url(url)
    from redis.cluster import ClusterNode, RedisCluster

    from botify.state.shards import cluster_seeds

    nodes = [ClusterNode(host, port) for host, port in cluster_seeds(url)]  # type: ignore[no-untyped-call]
    return RedisCluster(startup_nodes=nodes)


class CourseRedis:
    """The calls the course's recommenders make on a Redis connection (see the module docstring)."""

    def __init__(self, name: str, url: str | None = None) -> None:
        self.name = name
        self._data: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []  # in upload order: what randomkey draws from
        self._known: set[bytes] = set()
        self._prefix = f"botify:course:{name}:".encode()
        self._redis: Any = None
        if url is not None:
            self._redis = _connect(url)

    def _remote(self, key: bytes) -> bytes:
        return self._prefix + key

    def load(self, items: Iterable[tuple[Any, Any]]) -> int:
        """Set many keys at once (pipelined on a real Redis); return how many."""
        pairs = [(_bytes(key, "key"), _bytes(value, "value")) for key, value in items]
        for key, _ in pairs:
            if key not in self._known:
                self._known.add(key)
                self._keys.append(key)
        if self._redis is None:
            self._data.update(pairs)
            return len(pairs)
        for start in range(0, len(pairs), _PIPELINE_CHUNK):
            pipeline = self._redis.pipeline(transaction=False)
            for key, value in pairs[start:start + _PIPELINE_CHUNK]:
                pipeline.set(self._remote(key), value)
            pipeline.execute()
        return len(pairs)

    def set(self, key: Any, value: Any) -> bool:
        """``SET key value``."""
        self.load([(key, value)])
        return True

    def get(self, key: Any) -> bytes | None:
        """``GET key``: the value, or ``None``."""
        name = _bytes(key, "key")
        if self._redis is None:
            return self._data.get(name)
        found: bytes | None = self._redis.get(self._remote(name))
        return found

    def mget(self, keys: Iterable[Any], *more: Any) -> list[bytes | None]:
        """``MGET key...``."""
        names = [*([keys] if isinstance(keys, bytes | str | int | float) else keys), *more]
        return [self.get(name) for name in names]

    def exists(self, *keys: Any) -> int:
        """``EXISTS key...``: how many of them exist."""
        return sum(self.get(key) is not None for key in keys)

    def randomkey(self) -> bytes | None:
        """``RANDOMKEY``: one of the keys, drawn with Python's ``random`` (seeded per request by the lab)."""
        return random.choice(self._keys) if self._keys else None

    def keys(self, pattern: str = "*") -> list[bytes]:
        """``KEYS pattern`` (glob-style)."""
        return [key for key in self._keys if fnmatch.fnmatchcase(key.decode(errors="replace"), pattern)]

    def dbsize(self) -> int:
        """``DBSIZE``."""
        return len(self._keys)

    def close(self) -> None:
        """Close the connection to a real Redis (nothing to do in this process's dict)."""
        if self._redis is not None:
            self._redis.close()
