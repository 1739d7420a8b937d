"""The remote agent: real HTTP to a Botify (or reference-compatible) service.

Many sessions are in flight at once (``concurrency``); one user's sessions run one after another, in episode
order, so the service's per-user session counters — and so its counter-based randomness — match an in-process
run with the same seed. Connections are kept alive; connection errors and 502/503/504 answers are retried
with exponential backoff; an unreachable service gives a ``ServiceUnreachableError`` that says what to do.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
import numpy as np

from botify.errors import LabError, ServiceUnreachableError
from botify.sim.agents.base import Progress
from botify.sim.engine import SessionResults
from botify.sim.episodes import episode_starts
from botify.sim.session import SessionPlayer, results_from_players
from botify.sim.world import SimWorld

__all__ = ["RemoteAgent"]

_RETRY_STATUS = {502, 503, 504}


class RemoteAgent:
    """Play episodes against ``url`` with up to ``concurrency`` sessions in flight."""

    def __init__(
        self,
        world: SimWorld,
        url: str,
        *,
        concurrency: int = 8,
        retries: int = 5,
        backoff: float = 0.05,
        timeout: float = 10.0,
        max_session_length: int = 1000,
    ) -> None:
        if concurrency < 1:
            raise LabError(f"`concurrency` must be >= 1, got {concurrency}")
        self.world = world
        self.url = url.rstrip("/")
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.max_session_length = max_session_length
        self.retried_requests = 0

    def play(self, episodes: range, *, seed: int, progress: Progress | None = None) -> SessionResults:
        """Play the episodes over HTTP and return their sessions in episode order."""
        return asyncio.run(self._play(episodes, seed, progress))

    async def _play(self, episodes: range, seed: int, progress: Progress | None) -> SessionResults:
        numbers = np.arange(episodes.start, episodes.stop, episodes.step)
        users = episode_starts(self.world, seed, numbers).user
        per_user: dict[int, list[int]] = defaultdict(list)
        for episode, user in zip(numbers.tolist(), users.tolist(), strict=True):
            per_user[user].append(episode)
        queue: asyncio.Queue[list[int]] = asyncio.Queue()
        for user_episodes in per_user.values():
            queue.put_nowait(user_episodes)
        finished: dict[int, SessionPlayer] = {}
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=self.timeout) as client:
            await self._request(client, "GET", "/", None)

            async def worker() -> None:
                while not queue.empty():
                    for episode in queue.get_nowait():
                        finished[episode] = await self._play_session(client, seed, episode)
                        if progress is not None:
                            progress(1)

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        players = [finished[e] for e in numbers.tolist()]
        return results_from_players(players)

    async def _play_session(self, client: httpx.AsyncClient, seed: int, episode: int) -> SessionPlayer:
        player = SessionPlayer(self.world, seed, episode, max_session_length=self.max_session_length)
        while not player.done:
            body = {"track": player.last_track, "time": player.last_time}
            answer = await self._request(client, "POST", f"/next/{player.user}", body)
            track = answer.get("track")
            if not isinstance(track, int) or not 0 <= track < self.world.n_tracks:
                raise LabError(f"service answered /next/{player.user} with an invalid track: {answer!r}")
            player.listen(track)
        await self._request(client, "POST", f"/last/{player.user}", {"track": player.last_track,
                                                                      "time": player.last_time})
        return player

    async def _request(
        self, client: httpx.AsyncClient, method: str, path: str, body: dict[str, float] | None
    ) -> dict[str, object]:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = await client.request(method, path, json=body)
            except (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError,
                    httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                if attempt == self.retries:
                    raise ServiceUnreachableError(self.url, f"{type(error).__name__}: {error}") from error
            else:
                if response.status_code not in _RETRY_STATUS:
                    if response.status_code >= 400:
                        raise LabError(f"{method} {path} failed with {response.status_code}: {response.text[:300]}")
                    answer: dict[str, object] = response.json()
                    return answer
                if attempt == self.retries:
                    raise ServiceUnreachableError(self.url, f"{method} {path} kept answering {response.status_code}")
            self.retried_requests += 1
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")
