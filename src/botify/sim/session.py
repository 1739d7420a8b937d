"""One session played step by step — the scalar twin of the batched engine, for the remote and console agents.

It uses the same start draws (``episodes.episode_starts``), the same budget draws and the same equations as
``BatchedEngine``, so an episode played here gives exactly the engine's session.
"""

from __future__ import annotations

import numpy as np

from botify.errors import ConfigError
from botify.sim.engine import SessionResults
from botify.sim.episodes import BUDGET_STREAM, EpisodeStarts, episode_starts
from botify.sim.model import listen_time_one
from botify.sim.returns import ListenFactors
from botify.sim.world import SimWorld
from botify.world.seeding import counter_state, uniform_from_state

__all__ = ["SessionPlayer", "results_from_players"]


class SessionPlayer:
    """The state of one session: call ``listen(track)`` until ``done``."""

    def __init__(self, world: SimWorld, seed: int, episode: int, *, max_session_length: int = 1000,
                 starts: EpisodeStarts | None = None, row: int = 0, returns: ListenFactors | None = None) -> None:
        """Start ``episode``; pass ``starts`` (and the episode's ``row`` in it) when drawn for many at once.

        ``returns`` (the return model's state) adds the artists' fatigue across sessions.
        """
        if starts is None:
            starts, row = episode_starts(world, seed, np.array([episode])), 0
        self.world = world
        self.seed = seed
        self.episode = episode
        self.user = int(starts.user[row])
        self.interest = int(starts.interest[row])
        self.max_session_length = max_session_length
        truth = world.truth
        self._interest_row = world.embeddings[self.interest:self.interest + 1]
        self._bias = float(truth.consume_bias[self.user])
        self._sharpness = float(truth.consume_sharpness[self.user])
        self._gamma = truth.artist_discount_gamma[[self.user]]
        self._discounts: dict[int, float] = {}
        self._budget_state = counter_state(seed, episode)
        self.budget = int(truth.session_budget[self.user])
        first = int(starts.first_track[row])
        self.played = [first]
        self.times = [1.0]
        self._artist_counts = {int(world.artist_id[first]): 1}
        self.truncated = False
        self.returns = returns
        self._session_fatigue = truth.session_fatigue

    @property
    def last_track(self) -> int:
        """The track played last."""
        return self.played[-1]

    @property
    def last_time(self) -> float:
        """Its listened fraction."""
        return self.times[-1]

    @property
    def artists(self) -> list[int]:
        """The distinct artists heard in the session so far."""
        return list(self._artist_counts)

    @property
    def step(self) -> int:
        """Recommendations played so far (the step number of the next request)."""
        return len(self.played) - 1

    @property
    def done(self) -> bool:
        """Whether the session has ended."""
        return self.budget <= 0 or self.truncated

    @property
    def total_time(self) -> float:
        """Session time as the analysis counts it (first track included)."""
        return float(sum(self.times))

    def listen(self, track: int) -> float:
        """Play a recommended track and return its listened fraction."""
        if self.done:
            raise RuntimeError("Cannot listen after the session has ended.")
        if not 0 <= track < self.world.n_tracks:
            raise ConfigError(f"`track` must be in [0, {self.world.n_tracks}), got {track}")
        artist = int(self.world.artist_id[track])
        time = 0.0 if track in self.played else self._listen_time(track, self._artist_counts.get(artist, 0))
        if uniform_from_state(self._budget_state, self.step, BUDGET_STREAM) > time:
            self.budget -= 1
        self.played.append(track)
        self.times.append(time)
        self._artist_counts[artist] = self._artist_counts.get(artist, 0) + 1
        if self.budget > 0 and self.step >= self.max_session_length:
            self.truncated = True
        return time

    def _listen_time(self, track: int, artist_count: int) -> float:
        """``model.listen_time`` of one track not yet played, bit for bit: the same one-row ``einsum``."""
        score = float(np.einsum("ij,ij->i", self.world.embeddings[track:track + 1], self._interest_row)[0])
        discount = self._discounts.get(artist_count)
        if discount is None:
            discount = self._discounts[artist_count] = float(np.power(self._gamma, artist_count)[0])
        factor = 1.0
        if self.returns is not None:
            fatigue = self.returns.listen_factor(np.array([self.user]), np.array([track]))
            factor = 1.0 if fatigue is None else float(fatigue[0])
        if self._session_fatigue != 1.0:
            factor = factor * self._session_fatigue**self.step
        return listen_time_one(score, self._bias, self._sharpness, discount, factor)


def results_from_players(players: list[SessionPlayer], *, heard: bool = False) -> SessionResults:
    """Session rows of finished players, in the given order (session numbers unknown: -1).

    ``heard`` adds the (episode, artist) pairs of the sessions, each artist once per session, for the fatigue.
    """
    pairs = None
    if heard:
        found = sorted({(p.episode, artist) for p in players for artist in p.artists})
        pairs = (np.array([e for e, _ in found], dtype=np.int64), np.array([a for _, a in found], dtype=np.int64))
    return SessionResults(
        episode=np.array([p.episode for p in players], dtype=np.int64),
        user=np.array([p.user for p in players], dtype=np.int64),
        session=np.full(len(players), -1, dtype=np.int64),
        tracks=np.array([len(p.played) for p in players], dtype=np.int64),
        time=np.array([p.total_time for p in players], dtype=np.float64),
        truncated=np.array([p.truncated for p in players], dtype=np.bool_),
        heard=pairs,
    )
