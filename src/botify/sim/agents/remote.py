"""The remote agent: real HTTP to a Botify (or reference-compatible) service.

Many sessions are in flight at once (``concurrency`` keep-alive connections); one user's sessions run one
after another, in episode order, so the service's per-user session counters — and so its counter-based
randomness — match an in-process run with the same seed. Every request carries an ``X-Request-Id`` (this
run's random prefix, the episode and the request's index in it) that its retries repeat, so a request retried
after its first attempt was processed is answered the same and counted once. Connection errors and
502/503/504 answers are retried with exponential backoff; an unreachable service gives a
``ServiceUnreachableError`` that says what to do. The HTTP client is a small keep-alive HTTP/1.1 client
(``http.py``) on uvloop, so that the simulator is not the bottleneck of a load test. With ``pipeline=N``, N
sessions share a connection and their requests are pipelined: the requests ready in one turn of the loop
leave in one write, which our service answers in one write (a day over HTTP then costs about half the CPU
per request); a server that does not pipeline needs ``pipeline=1``, a connection per session.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict

import numpy as np
import numpy.typing as npt
import orjson
import uvloop

from botify.errors import LabError, ServiceUnreachableError
from botify.sim.agents.base import Episodes, Progress
from botify.sim.agents.http import TRANSPORT_ERRORS, HttpConnection, parse_base_url
from botify.sim.engine import SessionResults
from botify.sim.episodes import episode_starts
from botify.sim.returns import ListenFactors
from botify.sim.session import SessionPlayer, results_from_players
from botify.sim.world import SimWorld

__all__ = ["RemoteAgent"]

_RETRY_STATUS = {502, 503, 504}


class RemoteAgent:
    """Play episodes against ``url`` with up to ``concurrency`` sessions in flight, ``pipeline`` per connection."""

    def __init__(
        self,
        world: SimWorld,
        url: str,
        *,
        concurrency: int = 16,
        retries: int = 5,
        backoff: float = 0.05,
        timeout: float = 10.0,
        max_session_length: int = 1000,
        pipeline: int = 1,
    ) -> None:
        if concurrency < 1:
            raise LabError(f"`concurrency` must be >= 1, got {concurrency}")
        if pipeline < 1:
            raise LabError(f"`pipeline` must be >= 1, got {pipeline}")
        self.world = world
        self.url = url.rstrip("/")
        self.host, self.port = parse_base_url(self.url)
        self.concurrency = concurrency
        self.pipeline = pipeline
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.max_session_length = max_session_length
        self.retried_requests = 0
        self.requests_sent = 0
        self.answered_requests = 0  # /next and /last: the requests the service logs
        self.run_id = secrets.token_hex(4)

    def play(self, episodes: Episodes, *, seed: int, progress: Progress | None = None,
             users: npt.NDArray[np.int64] | None = None, returns: ListenFactors | None = None) -> SessionResults:
        """Play the episodes over HTTP and return their sessions in episode order."""
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(self._play(np.asarray(episodes, dtype=np.int64), seed, progress, users, returns))

    async def _play(self, numbers: npt.NDArray[np.int64], seed: int, progress: Progress | None,
                    users: npt.NDArray[np.int64] | None, returns: ListenFactors | None) -> SessionResults:
        starts = episode_starts(self.world, seed, numbers, users)
        per_user: dict[int, list[int]] = defaultdict(list)
        for row, user in enumerate(starts.user.tolist()):
            per_user[user].append(row)
        queue = list(per_user.values())
        queue.reverse()
        finished: dict[int, SessionPlayer] = {}
        probe = self._connection()
        await self._request(probe, "GET", "/", None)
        probe.close()

        async def worker(connection: HttpConnection) -> None:
            while queue:
                for row in queue.pop():
                    player = SessionPlayer(self.world, seed, int(numbers[row]), starts=starts, row=row,
                                           max_session_length=self.max_session_length, returns=returns)
                    finished[row] = await self._play_session(connection, player)
                    if progress is not None:
                        progress(1)

        workers = min(self.concurrency, len(queue))
        connections = [self._connection() for _ in range(-(-workers // self.pipeline))]
        try:
            await asyncio.gather(*(worker(connections[index // self.pipeline]) for index in range(workers)))
        finally:
            for connection in connections:
                connection.close()
        return results_from_players([finished[row] for row in range(len(numbers))], heard=returns is not None)

    def _connection(self) -> HttpConnection:
        return HttpConnection(self.host, self.port, timeout=self.timeout)

    async def _play_session(self, connection: HttpConnection, player: SessionPlayer) -> SessionPlayer:
        n_tracks = self.world.n_tracks
        path = f"/next/{player.user}"
        prefix = f"{self.run_id}-{player.episode}-"
        index = 0
        while not player.done:
            body = orjson.dumps({"track": player.last_track, "time": player.last_time})
            answer = await self._request(connection, "POST", path, body, prefix + str(index))
            track = answer.get("track") if isinstance(answer, dict) else None
            if not isinstance(track, int) or not 0 <= track < n_tracks:
                raise LabError(f"service answered {path} with an invalid track: {answer!r}")
            player.listen(track)
            self.answered_requests += 1
            index += 1
        body = orjson.dumps({"track": player.last_track, "time": player.last_time})
        await self._request(connection, "POST", f"/last/{player.user}", body, prefix + str(index))
        self.answered_requests += 1
        return player

    async def _request(self, connection: HttpConnection, method: str, path: str, body: bytes | None,
                       request_id: str | None = None) -> object:
        delay = self.backoff
        headers = None if request_id is None else {"X-Request-Id": request_id}
        for attempt in range(self.retries + 1):
            self.requests_sent += 1
            try:
                status, payload = await connection.request(method, path, body, headers)
            except TRANSPORT_ERRORS as error:
                if attempt == self.retries:
                    raise ServiceUnreachableError(self.url, f"{type(error).__name__}: {error}") from error
            else:
                if status not in _RETRY_STATUS:
                    if status >= 400:
                        detail = payload[:300].decode(errors="replace")
                        raise LabError(f"{method} {path} failed with {status}: {detail}")
                    return orjson.loads(payload)
                if attempt == self.retries:
                    raise ServiceUnreachableError(self.url, f"{method} {path} kept answering {status}")
            self.retried_requests += 1
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")
