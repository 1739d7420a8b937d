"""The demo's collection day over HTTP: the simulator's per-step cost, the transport, and the day's wall time.

The transport: the day as the recipes played it until 2026-12-07 (the service on uvicorn, 16 sessions in
flight, a connection each) against today's (the eager front end, 32 sessions in flight, 8 per connection with
their requests pipelined), interleaved, with each side's CPU time per request (service: ``/proc``; simulator:
this process's ``getrusage``). Both must play the same sessions.

The previous step (until 2026-12-03) ran the user model's vectorised equations on one-element arrays
(``play_step``) and hashed the budget draw from the seed; today's computes the same floats in Python
(``model.listen_time_one``) and continues the draw from the episode's hash state. Both are measured here, in
this run: listens per second of the step alone, then the exploration day over real HTTP (service started as
the demo starts it) with each step, interleaved, so that a busy machine slows both alike.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from rich.console import Console

from bench_revision import cpu_seconds
from botify.recipes.day import http_day
from botify.recipes.experiment import EXPLORATION
from botify.service.process import ServiceProcess
from botify.sim.agents.remote import RemoteAgent
from botify.sim.episodes import budget_uniform_one
from botify.sim.model import play_step
from botify.sim.session import SessionPlayer
from botify.sim.world import SimWorld, load_sim_world


def _previous_listen(self: SessionPlayer, track: int) -> float:
    """``SessionPlayer.listen`` as of 1c1bb4e: NumPy on one-element arrays, the draw hashed from the seed."""
    if self.done:
        raise RuntimeError("Cannot listen after the session has ended.")
    world, user = self.world, self.user
    truth = world.truth
    artist = int(world.artist_id[track])
    tracks = np.array([track])
    factor = None if self.returns is None else self.returns.listen_factor(np.array([user]), tracks)
    times, decrement = play_step(world.embeddings, tracks, world.embeddings[[self.interest]],
                                 truth.consume_bias[[user]], truth.consume_sharpness[[user]],
                                 truth.artist_discount_gamma[[user]], self._artist_counts.get(artist, 0),
                                 track in self.played,
                                 np.array([budget_uniform_one(self.seed, self.episode, self.step)]), factor)
    time_ = float(times[0])
    self.budget -= int(decrement[0])
    self.played.append(track)
    self.times.append(time_)
    self._artist_counts[artist] = self._artist_counts.get(artist, 0) + 1
    if self.budget > 0 and self.step >= self.max_session_length:
        self.truncated = True
    return time_


@contextmanager
def _step(previous: bool) -> Iterator[None]:
    today = SessionPlayer.listen
    if previous:
        SessionPlayer.listen = _previous_listen  # type: ignore[method-assign]
    try:
        yield
    finally:
        SessionPlayer.listen = today  # type: ignore[method-assign]


def listens_per_second(world: SimWorld, sessions: int) -> tuple[float, list[float]]:
    rng = np.random.default_rng(0)
    times: list[float] = []
    listens = 0
    started = time.perf_counter()
    for episode in range(sessions):
        player = SessionPlayer(world, 1, episode)
        while not player.done:
            times.append(player.listen(int(rng.integers(world.n_tracks))))
            listens += 1
    return listens / (time.perf_counter() - started), times


def day_seconds(world: SimWorld, world_dir: Path, episodes: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as logs:
        started = time.perf_counter()
        results = http_day(world, world_dir, config=EXPLORATION, log_dir=Path(logs), episodes=range(episodes),
                           seed=31337, console=Console(quiet=True), label="bench")
        return time.perf_counter() - started, float(results.time.sum())


TRANSPORTS = {"uvicorn, a connection per session (16)": ("uvicorn", 16, 1),
              "eager, 8 sessions per connection (32)": ("eager", 32, 8)}


def transport_day(world: SimWorld, world_dir: Path, episodes: int, server: str, concurrency: int,
                  pipeline: int) -> dict[str, float]:
    """The exploration day on one transport: wall time, both sides' CPU µs per request, the day's total time."""
    with tempfile.TemporaryDirectory() as logs, ServiceProcess(world_dir, config=EXPLORATION, log_dir=logs,
                                                                extra_args=["--server", server]) as service:
        assert service.process is not None
        agent = RemoteAgent(world, service.url, concurrency=concurrency, pipeline=pipeline)
        service_before, own_before = cpu_seconds(service.process.pid), resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        results = agent.play(range(episodes), seed=31337)
        seconds = time.perf_counter() - started
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        service_cpu = cpu_seconds(service.process.pid) - service_before
    requests = agent.answered_requests
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    return {"seconds": seconds, "service_us": 1e6 * service_cpu / requests, "simulator_us": 1e6 * own / requests,
            "total": float(results.time.sum())}


def run(world_dir: Path, episodes: int = 30_000, rounds: int = 2) -> dict[str, float]:
    world = load_sim_world(world_dir)
    with _step(previous=True):
        previous_rate, previous_times = listens_per_second(world, 5_000)
    today_rate, today_times = listens_per_second(world, 5_000)
    assert previous_times == today_times, "the two steps must give the same listened times"
    print(f"one step, previous (NumPy on 1-element arrays): {previous_rate:>9,.0f} listens/s")
    print(f"one step, today (Python floats)               : {today_rate:>9,.0f} listens/s "
          f"({today_rate / previous_rate:.2f}x)")
    seconds = {True: [], False: []}  # type: dict[bool, list[float]]
    totals = set()
    for _ in range(rounds):
        for previous in (True, False):
            with _step(previous):
                elapsed, total = day_seconds(world, world_dir, episodes)
            seconds[previous].append(elapsed)
            totals.add(total)
    assert len(totals) == 1, "both steps must play the same sessions"
    before, after = min(seconds[True]), min(seconds[False])
    print(f"exploration day over HTTP, {episodes:,} episodes (best of {rounds}, interleaved): previous {before:.1f} s, "
          f"today {after:.1f} s ({before / after:.2f}x); the demo's day is {200_000 // episodes}x longer")
    measured: dict[str, list[dict[str, float]]] = {name: [] for name in TRANSPORTS}
    for _ in range(rounds):
        for name, (server, concurrency, pipeline) in TRANSPORTS.items():
            measured[name].append(transport_day(world, world_dir, episodes, server, concurrency, pipeline))
    assert len({row["total"] for rows in measured.values() for row in rows}) == 1, "the same sessions on both"
    print(f"the transport, {episodes:,} episodes, {rounds} rounds interleaved (best of each):")
    best = {name: {key: min(row[key] for row in rows) for key in ("seconds", "service_us", "simulator_us")}
            for name, rows in measured.items()}
    for name, row in best.items():
        print(f"  {name:<40}{row['seconds']:>7.2f} s   service {row['service_us']:5.1f} µs/request   "
              f"simulator {row['simulator_us']:5.1f} µs/request")
    old, new = (best[name] for name in TRANSPORTS)
    print(f"  today / previous: day {new['seconds'] / old['seconds']:.2f}x, service CPU per request "
          f"{new['service_us'] / old['service_us']:.2f}x, simulator CPU per request "
          f"{new['simulator_us'] / old['simulator_us']:.2f}x")
    return {"step_ratio": today_rate / previous_rate, "day_ratio": before / after,
            "transport_day_ratio": new["seconds"] / old["seconds"],
            "transport_service_ratio": new["service_us"] / old["service_us"]}
