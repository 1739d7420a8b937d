"""The return model, played: who visits each day, how sessions move them, who leaves (docs/returns.md).

State per user: the log-odds ``z`` of visiting on a day, the expected session time ``e``, whether they left,
and the fatigue ``F`` of every artist heard in recent sessions. A day is played in waves: wave 0 is every
visitor's first session of the day, wave ``k + 1`` the users who came back after their wave-``k`` session. After
each session of time ``T``::

    satisfaction  s = (T² − e²) / (T² + e²)            in (−1, 1); tanh(log(T / e))
    z  ←  z + satisfaction_rate · s
    e  ←  e + expectation_adaptation · (T − e)
    leaves for good          if u_churn  < churn_probability · (1 − s) / 2
    another session today    if u_repeat < repeat_share · sigmoid(z)     (at most max_sessions_per_day)
    F[artist] += 1           for every artist heard in the session

Each morning ``F ← F · fatigue_recovery`` (entries under 0.01 are forgotten) and a user who has not left visits
if ``u_visit < sigmoid(z)``; a recommended track's listened time is multiplied by ``artist_fatigue ** F[artist]``.
Every ``u`` is a counter-based draw of ``(seed, stream, day, wave, user)``, and an episode's number encodes
``(day, wave, user)``, so the same seed gives the same days whatever plays them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.special import expit, logit

from botify.errors import LabError
from botify.sim.world import SimWorld
from botify.world.returns import ReturnTruth
from botify.world.seeding import counter_uniform

__all__ = ["ArtistFatigue", "FatigueView", "ListenFactors", "ReturnState", "fatigue_view", "satisfaction"]

_VISIT, _REPEAT, _CHURN = 21, 22, 23
_FORGOTTEN = 0.01

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def satisfaction(time: FloatArray, expectation: FloatArray) -> FloatArray:
    """How a session of ``time`` felt against the user's ``expectation``: ``tanh(log(T / e))``."""
    squared_time, squared_expectation = time * time, expectation * expectation
    result: FloatArray = (squared_time - squared_expectation) / (squared_time + squared_expectation)
    return result


class ArtistFatigue:
    """``F[user, artist]`` kept sparse, as sorted keys ``user * n_artists + artist`` and their values.

    Today's sessions go to a small map of their own, merged into the large one overnight: a wave's update then
    touches only today's pairs. ``F`` is the sum of the two.
    """

    def __init__(self, n_artists: int) -> None:
        self.n_artists = n_artists
        self.keys = np.zeros(0, dtype=np.int64)
        self.values = np.zeros(0, dtype=np.float64)
        self.today_keys = np.zeros(0, dtype=np.int64)
        self.today_values = np.zeros(0, dtype=np.float64)

    def of(self, users: IntArray, artists: IntArray) -> FloatArray:
        """``F`` of each (user, artist) pair; 0 for pairs not heard recently."""
        query = users * self.n_artists + artists
        found = _lookup(self.keys, self.values, query)
        return found + _lookup(self.today_keys, self.today_values, query) if len(self.today_keys) else found

    def add(self, users: IntArray, artists: IntArray) -> None:
        """``F += 1`` for each distinct (user, artist) pair (a pair given twice counts once: one session)."""
        new = np.sort(users * self.n_artists + artists)
        new = new[np.r_[True, new[1:] != new[:-1]]] if len(new) else new
        self.today_keys, self.today_values = _merge(self.today_keys, self.today_values, new, np.ones(len(new)))

    def recover(self, factor: float) -> None:
        """One night: today's counts join the rest, every ``F`` is multiplied by ``factor``, those under 0.01 go."""
        keys, values = _merge(self.keys, self.values, self.today_keys, self.today_values)
        values = values * factor
        keep = values >= _FORGOTTEN
        self.keys, self.values = keys[keep], values[keep]
        self.today_keys, self.today_values = self.today_keys[:0], self.today_values[:0]


def _merge(keys: IntArray, values: FloatArray, new_keys: IntArray, new_values: FloatArray
           ) -> tuple[IntArray, FloatArray]:
    """Add sorted distinct ``new_keys``' values into the sorted map, inserting the keys it lacks (no re-sort)."""
    at = np.searchsorted(keys, new_keys)
    known = at < len(keys)
    known[known] = keys[at[known]] == new_keys[known]
    values = values.copy()
    values[at[known]] += new_values[known]
    return np.insert(keys, at[~known], new_keys[~known]), np.insert(values, at[~known], new_values[~known])


def _lookup(keys: IntArray, values: FloatArray, query: IntArray) -> FloatArray:
    if not len(keys):
        return np.zeros(len(query))
    index = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    found: FloatArray = np.where(keys[index] == query, values[index], 0.0)
    return found


class ListenFactors(Protocol):
    """What playing a wave needs of the return model: how much fatigue takes off each recommended track."""

    def listen_factor(self, users: IntArray, tracks: IntArray) -> FloatArray | None:
        """``artist_fatigue ** F`` of each recommended track's artist; None when fatigue is off."""
        ...


@dataclass(frozen=True)
class FatigueView:
    """Some users' artist fatigue during one wave: all a shard of the simulation needs to play their sessions.

    Fatigue changes only between waves (``ReturnState.end_wave`` and overnight), so the view of a wave's users,
    taken before the wave, gives the same listen factors as the whole state.
    """

    keys: IntArray
    values: FloatArray
    n_artists: int
    artist_fatigue: float
    artist_id: IntArray

    def listen_factor(self, users: IntArray, tracks: IntArray) -> FloatArray | None:
        """``artist_fatigue ** F`` of each recommended track's artist; None when fatigue is off."""
        if self.artist_fatigue == 1.0:
            return None
        exponent = _lookup(self.keys, self.values, users * self.n_artists + self.artist_id[tracks])
        factor: FloatArray = np.power(self.artist_fatigue, exponent)
        return factor


def fatigue_view(world: SimWorld, keys: IntArray, values: FloatArray) -> FatigueView:
    """A shard's view of some users' fatigue (``ReturnState.fatigue_of``), with its own copy of the world."""
    returns = world.truth.returns
    if returns is None:
        raise LabError("this world has no return model (docs/returns.md)")
    return FatigueView(keys, values, _n_artists(world), returns.knobs.artist_fatigue, world.artist_id)


def _n_artists(world: SimWorld) -> int:
    return int(world.artist_id.max()) + 1 if len(world.artist_id) else 0


class ReturnState:
    """Every user's state under the return model, advanced one wave of sessions at a time."""

    def __init__(self, world: SimWorld, seed: int) -> None:
        returns = world.truth.returns
        if returns is None:
            raise LabError("this world has no return model; generate one with "
                           "`botify world generate --set return_model=true` (docs/returns.md)")
        self.truth: ReturnTruth = returns
        self.knobs = returns.knobs
        self.seed = seed
        self.n_users = world.n_users
        self.artist_id = world.artist_id
        self.log_odds: FloatArray = logit(returns.visit_probability)
        self.expectation: FloatArray = returns.expectation.copy()
        self.left = np.zeros(self.n_users, dtype=np.bool_)
        self.fatigue = ArtistFatigue(_n_artists(world))
        self.day = -1

    def start_day(self, day: int) -> IntArray:
        """The users who visit on ``day`` (days are played in order from 0), ascending."""
        if day != self.day + 1:
            raise LabError(f"days are played in order: expected day {self.day + 1}, got {day}")
        if day > 0:
            self.fatigue.recover(self.knobs.fatigue_recovery)
        self.day = day
        users = np.arange(self.n_users, dtype=np.int64)
        draw = counter_uniform(self.seed, _VISIT, day, 0, users)
        visitors: IntArray = users[~self.left & (draw < expit(self.log_odds))]
        return visitors

    def episodes(self, wave: int, users: IntArray) -> IntArray:
        """Episode numbers of the wave's sessions: ``(day * max_sessions_per_day + wave) * n_users + user``."""
        return (self.day * self.knobs.max_sessions_per_day + wave) * self.n_users + users

    def user_of(self, episodes: IntArray) -> IntArray:
        """The user of each episode number."""
        users: IntArray = episodes % self.n_users
        return users

    def listen_factor(self, users: IntArray, tracks: IntArray) -> FloatArray | None:
        """``artist_fatigue ** F`` of each recommended track's artist; None when fatigue is off."""
        if self.knobs.artist_fatigue == 1.0:
            return None
        exponent = self.fatigue.of(users, self.artist_id[tracks])
        factor: FloatArray = np.power(self.knobs.artist_fatigue, exponent)
        return factor

    def fatigue_of(self, groups: list[IntArray]) -> list[tuple[IntArray, FloatArray]]:
        """Each group's users' fatigue entries ``(keys, values)`` as they stand now, for one wave.

        Small arrays that travel to a shard, which rebuilds its ``FatigueView`` with ``fatigue_view`` from its own
        copy of the world; the two maps are merged once for every group.
        """
        fatigue = self.fatigue
        keys, values = _merge(fatigue.keys, fatigue.values, fatigue.today_keys, fatigue.today_values)
        user_of_key = keys // max(fatigue.n_artists, 1)
        return [(keys[mine], values[mine]) for mine in (np.isin(user_of_key, users) for users in groups)]

    def end_wave(self, wave: int, users: IntArray, times: FloatArray, heard_episode: IntArray,
                 heard_artist: IntArray) -> IntArray:
        """Apply a wave's sessions (one per user) and return who plays another session today, ascending.

        ``heard_episode``/``heard_artist`` are the (episode, artist) pairs played in the wave (repeats allowed).
        """
        knobs = self.knobs
        s = satisfaction(times, self.expectation[users])
        self.log_odds[users] += knobs.satisfaction_rate * s
        self.expectation[users] += knobs.expectation_adaptation * (times - self.expectation[users])
        churn = counter_uniform(self.seed, _CHURN, self.day, wave, users) < knobs.churn_probability * (1 - s) / 2
        self.left[users[churn]] = True
        self.fatigue.add(self.user_of(heard_episode), heard_artist)
        if wave + 1 >= knobs.max_sessions_per_day:
            return np.zeros(0, dtype=np.int64)
        stays = ~self.left[users]
        repeat = counter_uniform(self.seed, _REPEAT, self.day, wave + 1, users)
        again = stays & (repeat < knobs.repeat_share * expit(self.log_odds[users]))
        return np.sort(users[again])
