"""The lean RESP connection against a real redis-server."""

from __future__ import annotations

import pytest

from botify.cluster.redis_server import RedisServer
from botify.errors import ConfigError
from botify.state.resp import RedisConnection, RedisError


class TestResp:
    def test_commands_errors_and_binary_values(self, redis_server: RedisServer) -> None:
        connection = RedisConnection(redis_server.url)
        try:
            assert connection.call("SET", "resp:k", b"\x00\r\nbinary") == b"OK"
            assert connection.call("GET", "resp:k") == b"\x00\r\nbinary"
            assert connection.call("GET", "resp:missing") is None
            with pytest.raises(RedisError, match="wrong number of arguments|ERR"):
                connection.call("GET")
            assert connection.call("PING") == b"PONG"  # still usable after an error reply
        finally:
            connection.close()

    def test_scripts_survive_a_script_flush(self, redis_server: RedisServer) -> None:
        connection = RedisConnection(redis_server.url)
        try:
            sha = connection.script("return redis.call('INCR', KEYS[1])")
            first = connection.evalsha(sha, ["resp:counter"])
            connection.call("SCRIPT", "FLUSH")   # what a Redis restart does to loaded scripts
            assert connection.evalsha(sha, ["resp:counter"]) == first + 1
        finally:
            connection.close()

    def test_selects_the_database_of_the_url(self, redis_server: RedisServer) -> None:
        zero, three = RedisConnection(redis_server.url), RedisConnection(redis_server.url[:-1] + "3")
        try:
            three.call("SET", "resp:db", "three")
            assert zero.call("GET", "resp:db") is None and three.call("GET", "resp:db") == b"three"
        finally:
            zero.close()
            three.close()

    @pytest.mark.parametrize("url", ["http://x", "redis://127.0.0.1:6379/x", "unix:///tmp/r.sock?db=y"])
    def test_bad_urls(self, url: str) -> None:
        with pytest.raises(ConfigError):
            RedisConnection(url)
