"""The batched engine: advances thousands of sessions at once with NumPy.

Each step asks the policy for one track per active session (a ``Requests`` batch), applies the user model's
equations (``botify.sim.model``) to all of them, and retires the sessions whose budget ran out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from botify.errors import LabError
from botify.recommenders.base import Requests
from botify.sim.episodes import budget_uniform, episode_starts, session_numbers
from botify.sim.model import play_step
from botify.sim.returns import ListenFactors
from botify.sim.world import SimWorld

__all__ = ["BatchedEngine", "EventRecorder", "Policy", "SessionResults"]

Policy = Callable[[Requests], npt.NDArray[np.int64]]


class EventRecorder(Protocol):
    """Receives what the service would log: every ``/next`` (requests and answers) and every ``/last``."""

    def next(self, requests: Requests, recommendations: npt.NDArray[np.int64]) -> None:
        """A batch of ``/next`` requests and the tracks recommended."""
        ...

    def last(self, user: npt.NDArray[np.int64], session: npt.NDArray[np.int64], step: npt.NDArray[np.int64],
             track: npt.NDArray[np.int64], time: npt.NDArray[np.float64]) -> None:
        """Sessions that ended: their last track and its time (``step`` = the number of ``/next`` calls)."""
        ...


@dataclass(frozen=True)
class SessionResults:
    """One row per finished session, in episode order.

    ``tracks`` counts the log lines the session produces (first track + recommendations), and ``time`` is the
    session time as the A/B analysis computes it: 1.0 for the first track plus every recommendation's time.
    """

    episode: npt.NDArray[np.int64]
    user: npt.NDArray[np.int64]
    session: npt.NDArray[np.int64]
    tracks: npt.NDArray[np.int64]
    time: npt.NDArray[np.float64]
    truncated: npt.NDArray[np.bool_]
    heard: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
    """With the return model: the (episode, artist) pairs played (repeats allowed), for the artists' fatigue."""

    def __len__(self) -> int:
        return int(self.episode.shape[0])

    @classmethod
    def concat(cls, parts: list[SessionResults], *, in_episode_order: bool = False) -> SessionResults:
        """Sessions of several runs joined, sorted by episode if asked; the artists heard kept if every part has them.

        The heard pairs are a set (the return model counts each distinct pair once), so their order is the parts'.
        """
        names = ("episode", "user", "session", "tracks", "time", "truncated")
        if not parts:
            empty = np.zeros(0, np.int64)
            return cls(empty, empty, empty, empty, np.zeros(0), np.zeros(0, np.bool_))
        columns = [np.concatenate([getattr(p, name) for p in parts]) for name in names]
        if in_episode_order:
            order = np.argsort(columns[0], kind="stable")
            columns = [column[order] for column in columns]
        episode, user, session, tracks, time, truncated = columns
        heard = None
        if all(p.heard is not None for p in parts):
            heard = (np.concatenate([p.heard[0] for p in parts if p.heard is not None]),
                     np.concatenate([p.heard[1] for p in parts if p.heard is not None]))
        return cls(episode, user, session, tracks, time, truncated, heard)

    @property
    def reward(self) -> npt.NDArray[np.float64]:
        """The reference simulator's episode reward: the summed time of the recommended tracks."""
        return self.time - 1.0

    @property
    def steps(self) -> npt.NDArray[np.int64]:
        """Recommendations per session (the reference's episode length)."""
        return self.tracks - 1


class BatchedEngine:
    """Simulate many sessions in lock-step.

    Parameters
    ----------
    world : the simulator's world.
    max_session_length : sessions still going after this many recommendations are truncated (the reference has
        no limit; a perfect recommender could otherwise keep a session alive forever).
    """

    def __init__(self, world: SimWorld, *, max_session_length: int = 1000) -> None:
        if max_session_length < 1:
            raise LabError(f"`max_session_length` must be >= 1, got {max_session_length}")
        self.world = world
        self.max_session_length = max_session_length

    def run(
        self,
        policy: Policy,
        *,
        seed: int,
        episodes: range | npt.NDArray[np.int64],
        users: npt.NDArray[np.int64] | None = None,
        returns: ListenFactors | None = None,
        sessions_played: npt.NDArray[np.int64] | None = None,
        batch_size: int = 4096,
        progress: Callable[[int], None] | None = None,
        recorder: EventRecorder | None = None,
    ) -> SessionResults:
        """Play ``episodes`` (global episode numbers, ascending) and return their sessions in episode order.

        ``users`` fixes each episode's user (the return model's visitors), else users are drawn uniformly.
        ``returns`` (the return model's state) adds the artists' fatigue and reports the artists heard.
        ``sessions_played`` (per-user count of earlier sessions, e.g. from earlier days) numbers the sessions
        and is advanced in place.
        """
        numbers = np.arange(episodes.start, episodes.stop, episodes.step) if isinstance(episodes, range) else \
            np.asarray(episodes, dtype=np.int64)
        starts = episode_starts(self.world, seed, numbers, users)
        wave = session_numbers(starts.user)
        session = session_numbers(starts.user, sessions_played)
        parts = []
        heard: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        # One user's sessions never overlap (as over HTTP): wave k holds every user's k-th session of the run.
        for k in range(int(wave.max()) + 1 if len(wave) else 0):
            in_wave = np.flatnonzero(wave == k)
            for begin in range(0, len(in_wave), batch_size):
                rows = in_wave[begin : begin + batch_size]
                parts.append(
                    self._run_batch(
                        policy, seed, starts.episode[rows], starts.user[rows], starts.interest[rows],
                        starts.first_track[rows], session[rows], progress, recorder, returns, heard,
                    )
                )
        if not parts:
            empty = np.zeros(0, np.int64)
            return SessionResults(empty, empty, empty, empty, np.zeros(0), np.zeros(0, np.bool_),
                                  None if returns is None else (empty, empty))
        columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
        order = np.argsort(columns[0], kind="stable")
        episode, user, session_number, tracks, time, truncated = (c[order] for c in columns)
        return SessionResults(episode, user, session_number, tracks, time, truncated,
                              heard=None if returns is None else _heard_pairs(heard))

    def _run_batch(
        self,
        policy: Policy,
        seed: int,
        episode: npt.NDArray[np.int64],
        user: npt.NDArray[np.int64],
        interest: npt.NDArray[np.int64],
        first_track: npt.NDArray[np.int64],
        session: npt.NDArray[np.int64],
        progress: Callable[[int], None] | None,
        recorder: EventRecorder | None,
        returns: ListenFactors | None,
        heard: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64],
               npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        world, truth = self.world, self.world.truth
        n = len(episode)
        out_tracks = np.zeros(n, dtype=np.int64)
        out_time = np.zeros(n, dtype=np.float64)
        out_truncated = np.zeros(n, dtype=np.bool_)

        row = np.arange(n)
        vectors = world.embeddings[interest]
        bias, sharpness = truth.consume_bias[user], truth.consume_sharpness[user]
        gamma = truth.artist_discount_gamma[user]
        budget = truth.session_budget[user].astype(np.int64)
        capacity = 16
        played = np.full((n, capacity), -1, dtype=np.int64)
        played_artist = np.full((n, capacity), -1, dtype=np.int64)
        played[:, 0] = first_track
        played_artist[:, 0] = world.artist_id[first_track]
        last_track, last_time = first_track.copy(), np.ones(n)
        fatigue = truth.session_fatigue
        total_time = np.ones(n)
        step = 0
        while len(row):
            requests = Requests(user[row], last_track, last_time, session[row], np.full(len(row), step, np.int64))
            track = np.asarray(policy(requests), dtype=np.int64)
            _check_tracks(track, len(row), world.n_tracks)
            if recorder is not None:
                recorder.next(requests, track)
            if step + 1 >= capacity:
                capacity *= 2
                played = _widen(played, capacity)
                played_artist = _widen(played_artist, capacity)
            artist = world.artist_id[track]
            already = (played[:, : step + 1] == track[:, None]).any(axis=1)
            artist_count = (played_artist[:, : step + 1] == artist[:, None]).sum(axis=1)
            factor = None if returns is None else returns.listen_factor(user[row], track)
            if fatigue != 1.0:  # a Python float power, as SessionPlayer's: the same bits on either path
                boredom = fatigue**step
                factor = np.full(len(row), boredom) if factor is None else factor * boredom
            time, decrement = play_step(world.embeddings, track, vectors, bias, sharpness, gamma, artist_count,
                                        already, budget_uniform(seed, episode[row], step), factor)
            budget -= decrement
            played[:, step + 1] = track
            played_artist[:, step + 1] = artist
            total_time += time
            step += 1
            over_length = step >= self.max_session_length
            done = (budget <= 0) | over_length
            if done.any():
                finished = row[done]
                out_tracks[finished] = step + 1
                out_time[finished] = total_time[done]
                out_truncated[finished] = (budget[done] > 0)
                if returns is not None:
                    heard.append((np.repeat(episode[finished], step + 1), played_artist[done, : step + 1].ravel()))
                if recorder is not None:
                    recorder.last(user[finished], session[finished], np.full(len(finished), step, np.int64),
                                  track[done], time[done])
                if progress is not None:
                    progress(int(done.sum()))
                keep = ~done
                row, bias, sharpness, gamma, budget = row[keep], bias[keep], sharpness[keep], gamma[keep], budget[keep]
                vectors = vectors[keep]
                played, played_artist, total_time = played[keep], played_artist[keep], total_time[keep]
                last_track, last_time = track[keep], time[keep]
            else:
                last_track, last_time = track, time
        return episode, user, session, out_tracks, out_time, out_truncated


def _heard_pairs(pairs: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The (episode, artist) pairs played, one per track (an artist played twice in a session appears twice)."""
    if not pairs:
        empty = np.zeros(0, np.int64)
        return empty, empty
    return np.concatenate([e for e, _ in pairs]), np.concatenate([a for _, a in pairs])


def _widen(array: npt.NDArray[np.int64], capacity: int) -> npt.NDArray[np.int64]:
    wider = np.full((array.shape[0], capacity), -1, dtype=np.int64)
    wider[:, : array.shape[1]] = array
    return wider


def _check_tracks(track: npt.NDArray[np.int64], expected: int, n_tracks: int) -> None:
    if track.shape != (expected,):
        raise LabError(f"policy returned {track.shape} tracks for {expected} requests")
    if len(track) and (track.min() < 0 or track.max() >= n_tracks):
        bad = track[(track < 0) | (track >= n_tracks)][0]
        raise LabError(f"policy recommended track {bad}, outside the catalog 0..{n_tracks - 1}")
