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

from collections.abc import Callable
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
    """Users with at least one logged session; the others get a seen user's interests (``_fill_unseen``)."""

    def session_interest(self, data: FitData) -> IntArray:
        """The interest track of each session (its taste vector's track)."""
        out: IntArray = self.tracks[data.session_user, self.session_slot]
        return out


def assign_interests(data: FitData, catalog: Catalog, slots: int, seed: int) -> Interests:
    """Group each user's sessions into at most ``slots`` interests (see the module docstring)."""
    artist, genre = catalog.artist_id.astype(np.int64), catalog.genre_id.astype(np.int64)
    return _per_user(data, slots, seed, lambda firsts: _artist_groups(firsts, artist, genre, slots))


def _per_user(data: FitData, slots: int, seed: int,
              group: Callable[[IntArray], tuple[IntArray, IntArray]]) -> Interests:
    """``group(first tracks of one user's sessions) -> (slot of each session, the slots' interest tracks)``, per user.

    Users never logged get a seen user's interests (``_fill_unseen``).
    """
    tracks = np.full((data.n_users, slots), -1, dtype=np.int64)
    session_slot = np.zeros(data.n_sessions, dtype=np.int64)
    order = np.argsort(data.session_user, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(data.session_user[order]) != 0, True])
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[begin:end]
        session_slot[rows], tracks[int(data.session_user[rows[0]])] = group(data.session_first[rows])
    seen = tracks[:, 0] >= 0
    _fill_unseen(tracks, seen, seed)
    return Interests(tracks=tracks, session_slot=session_slot, seen=seen)


def _artist_groups(firsts: IntArray, artist: IntArray, genre: IntArray, slots: int) -> tuple[IntArray, IntArray]:
    """One user's sessions grouped by their first track's artist → (slot of each session, the interest tracks)."""
    group_artist, group_of_row, sizes = np.unique(artist[firsts], return_inverse=True, return_counts=True)
    first_seen = np.full(len(group_artist), len(firsts))
    np.minimum.at(first_seen, group_of_row, np.arange(len(firsts)))
    rank = np.lexsort((first_seen, -sizes))  # largest first, then the earliest seen
    allotted = np.zeros(len(group_artist), dtype=np.int64)
    allotted[rank] = dhondt(sizes[rank], slots)
    slotted = [int(g) for g in rank if allotted[g] > 0]
    home: dict[int, int] = {}
    for g in range(len(group_artist)):
        if allotted[g] > 0:
            home[g] = g
            continue
        same_genre = [s for s in slotted if genre[firsts[group_of_row == s][0]] == genre[firsts[group_of_row == g][0]]]
        home[g] = same_genre[0] if same_genre else slotted[0]
    modal = []
    for g in slotted:
        values, counts = np.unique(firsts[group_of_row == g], return_counts=True)
        modal.append(int(values[np.argmax(counts)]))  # the most frequent first track, the lowest id on ties
    interest, first_slot = _lay_out(slotted, [int(allotted[g]) for g in slotted], modal, slots)
    return np.array([first_slot[home[int(g)]] for g in group_of_row], dtype=np.int64), interest


def _lay_out(groups: list[int], allotted: list[int], interest_of_group: list[int],
             slots: int) -> tuple[IntArray, dict[int, int]]:
    """The ``slots`` interest tracks (each group's over the slots allotted to it) and each group's first slot."""
    interest = np.empty(slots, dtype=np.int64)
    first_slot, position = {}, 0
    for group, count, track in zip(groups, allotted, interest_of_group, strict=True):
        first_slot[group] = position
        interest[position : position + count] = track
        position += count
    return interest, first_slot


def dhondt(sizes: npt.NDArray[np.float64] | IntArray, slots: int) -> IntArray:
    """Slots per group by D'Hondt's rule: each next slot to the group with the most sessions per slot held.

    Ties go to the earlier group, so the order of ``sizes`` breaks them.
    """
    allotted = np.zeros(len(sizes), dtype=np.int64)
    for _ in range(slots):
        allotted[int(np.argmax(sizes / (allotted + 1)))] += 1
    return allotted


def _fill_unseen(tracks: IntArray, seen: npt.NDArray[np.bool_], seed: int) -> None:
    """Users never logged: interests of a seen user drawn at random (seeded), so they play like someone logged."""
    unseen = np.flatnonzero(~seen)
    if len(unseen) == 0:
        return
    donors = np.flatnonzero(seen)
    rng = np.random.default_rng(seed)
    tracks[unseen] = tracks[donors[rng.integers(0, len(donors), size=len(unseen))]]


def regroup_interests(data: FitData, embeddings: npt.NDArray[np.float32], slots: int, seed: int,
                      rounds: int = 3) -> Interests:
    """Regroup each user's sessions by their first tracks' closeness in a fitted taste space (k-medoids).

    Artist groups split an interest whose nearest tracks span several artists of one scene (most do): a session
    then borrows another interest's taste. In the fitted space those first tracks lie close together, so each
    user's first tracks are clustered around ``slots`` medoids (cosine similarity; farthest-first start, then
    ``rounds`` rounds of assignment and medoid update); each cluster's medoid is its interest and the slots go to
    the clusters by D'Hondt's rule, as in ``assign_interests``. A cluster left without a slot joins the most
    similar slotted one.
    """
    vectors = embeddings.astype(np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return _per_user(data, slots, seed, lambda firsts: _medoid_groups(firsts, vectors, slots, rounds))


def _medoid_groups(firsts: IntArray, vectors: npt.NDArray[np.float64], slots: int,
                   rounds: int) -> tuple[IntArray, IntArray]:
    """One user's sessions clustered around medoid first tracks → (slot of each session, the interest tracks)."""
    distinct, of_row = np.unique(firsts, return_inverse=True)
    weight = np.bincount(of_row, minlength=len(distinct)).astype(np.float64)
    similarity = vectors[distinct] @ vectors[distinct].T
    cluster = _medoid_clusters(similarity, weight, min(slots, len(distinct)), rounds)
    medoids = np.unique(cluster)
    allotted = dhondt(np.array([weight[cluster == m].sum() for m in medoids]), slots)
    kept = [int(m) for m, count in zip(medoids, allotted, strict=True) if count > 0]
    interest, first_slot = _lay_out(kept, [int(c) for c in allotted if c > 0], [int(distinct[m]) for m in kept],
                                    slots)
    home = {int(m): int(m) if int(m) in first_slot else max(kept, key=lambda k: similarity[m, k]) for m in medoids}
    return np.array([first_slot[home[int(cluster[d])]] for d in of_row], dtype=np.int64), interest


def _medoid_clusters(similarity: npt.NDArray[np.float64], weight: npt.NDArray[np.float64], k: int,
                     rounds: int) -> IntArray:
    """Each item's medoid (an item index), for ``k`` weighted medoids under ``similarity``."""
    medoids = [int(np.argmax(similarity @ weight))]
    while len(medoids) < k:  # farthest first: the item least similar to its closest medoid
        closest = similarity[:, medoids].max(axis=1)
        closest[medoids] = np.inf
        medoids.append(int(np.argmin(closest)))
    for _ in range(rounds):
        assignment = np.array(medoids)[np.argmax(similarity[:, medoids], axis=1)]
        updated = []
        for m in medoids:
            members = np.flatnonzero(assignment == m)
            if len(members) == 0:
                continue
            inner = similarity[np.ix_(members, members)] @ weight[members]
            updated.append(int(members[int(np.argmax(inner))]))
        if sorted(updated) == sorted(medoids):
            break
        medoids = updated
    out: IntArray = np.array(medoids)[np.argmax(similarity[:, medoids], axis=1)]
    return out
