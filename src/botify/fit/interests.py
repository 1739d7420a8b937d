"""Each user's interests from the first tracks of their sessions.

In the user model a session starts from one of the user's interest tracks ``j`` — its taste vector is ``e_j`` —
and its first track is drawn from the tracks nearest to ``j``. The logs show the first track, never ``j``. The
fit groups a user's sessions by the artist of their first track (an interest's nearest tracks are mostly its own
artist's), gives the user's ``K`` interest slots to the groups in proportion to their sessions (D'Hondt's rule,
so that the fitted world starts from each group about as often as the logs did), and takes each slotted group's
most frequent first track as the interest: a catalog track whose fitted embedding becomes the sessions' taste.
A group left without a slot joins the slotted group of the same genre (else the largest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.fit.data import FitData
from botify.world.catalog import Catalog

__all__ = ["Interests", "assign_interests"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Interests:
    """Each user's interest tracks (``users x K``) and each session's slot among them."""

    tracks: IntArray
    session_slot: IntArray
    seen: npt.NDArray[np.bool_]
    """Users with at least one logged session; the others get interests drawn from the seen users' (see ``fill``)."""

    def session_interest(self, data: FitData) -> IntArray:
        """The interest track of each session (its taste vector's track)."""
        out: IntArray = self.tracks[data.session_user, self.session_slot]
        return out


def assign_interests(data: FitData, catalog: Catalog, slots: int, seed: int) -> Interests:
    """Group each user's sessions into at most ``slots`` interests (see the module docstring)."""
    n_users = data.n_users
    tracks = np.full((n_users, slots), -1, dtype=np.int64)
    session_slot = np.zeros(data.n_sessions, dtype=np.int64)
    artist = catalog.artist_id.astype(np.int64)
    genre = catalog.genre_id.astype(np.int64)
    order = np.argsort(data.session_user, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(data.session_user[order]) != 0, True])
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[begin:end]
        user = int(data.session_user[rows[0]])
        firsts = data.session_first[rows]
        slot_of_row, interest = _user_interests(firsts, artist, genre, slots)
        tracks[user] = interest
        session_slot[rows] = slot_of_row
    seen = tracks[:, 0] >= 0
    _fill_unseen(tracks, seen, seed)
    return Interests(tracks=tracks, session_slot=session_slot, seen=seen)


def _user_interests(firsts: IntArray, artist: IntArray, genre: IntArray, slots: int) -> tuple[IntArray, IntArray]:
    """One user's sessions → (slot of each session, the ``slots`` interest tracks)."""
    group_artist, group_of_row, sizes = np.unique(artist[firsts], return_inverse=True, return_counts=True)
    first_seen = np.full(len(group_artist), len(firsts))
    np.minimum.at(first_seen, group_of_row, np.arange(len(firsts)))
    rank = np.lexsort((first_seen, -sizes))  # largest first, then the earliest seen
    allotted = np.zeros(len(group_artist), dtype=np.int64)
    for _ in range(slots):  # D'Hondt: the next slot goes to the group with the most sessions per slot held
        quotient = sizes[rank] / (allotted[rank] + 1)
        allotted[rank[int(np.argmax(quotient))]] += 1
    slotted = [int(g) for g in rank if allotted[g] > 0]
    home: dict[int, int] = {}
    for g in range(len(group_artist)):
        if allotted[g] > 0:
            home[g] = g
            continue
        same_genre = [s for s in slotted if genre[firsts[group_of_row == s][0]] == genre[firsts[group_of_row == g][0]]]
        home[g] = same_genre[0] if same_genre else slotted[0]
    interest = np.empty(slots, dtype=np.int64)
    first_slot = {}
    position = 0
    for g in slotted:
        members = firsts[group_of_row == g]
        values, counts = np.unique(members, return_counts=True)
        track = int(values[np.argmax(counts)])  # the most frequent first track, the lowest id on ties
        first_slot[g] = position
        interest[position : position + allotted[g]] = track
        position += int(allotted[g])
    slot_of_row = np.array([first_slot[home[int(g)]] for g in group_of_row], dtype=np.int64)
    return slot_of_row, interest


def _fill_unseen(tracks: IntArray, seen: npt.NDArray[np.bool_], seed: int) -> None:
    """Users never logged: interests of a seen user drawn at random (seeded), so they play like someone logged."""
    unseen = np.flatnonzero(~seen)
    if len(unseen) == 0:
        return
    donors = np.flatnonzero(seen)
    rng = np.random.default_rng(seed)
    tracks[unseen] = tracks[donors[rng.integers(0, len(donors), size=len(unseen))]]
