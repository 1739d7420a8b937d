"""Counter-based draws of the simulator: who starts each episode, where, and the per-step budget draws.

Every draw is a pure function of ``(seed, episode, step, stream)``, so an episode plays out the same whether it
runs alone, in a batch of thousands, or over HTTP at any concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.sim.world import SimWorld
from botify.world.seeding import counter_randint, counter_uniform, counter_uniform_one

__all__ = [
    "BUDGET_STREAM", "EpisodeStarts", "budget_uniform", "budget_uniform_one", "episode_starts", "session_numbers",
]

_USER, _INTEREST, _FIRST_TRACK, BUDGET_STREAM = 1, 2, 3, 4


@dataclass(frozen=True)
class EpisodeStarts:
    """The sampled user, interest track and first track of each episode."""

    episode: npt.NDArray[np.int64]
    user: npt.NDArray[np.int64]
    interest: npt.NDArray[np.int64]
    first_track: npt.NDArray[np.int64]


def episode_starts(world: SimWorld, seed: int, episodes: npt.ArrayLike,
                   users: npt.ArrayLike | None = None) -> EpisodeStarts:
    """Each episode's user, interest and first track (the first among the interest's k nearest).

    Users are drawn uniformly unless ``users`` fixes them; the interest and the first track are drawn uniformly.
    """
    episode = np.asarray(episodes, dtype=np.int64)
    truth = world.truth
    user = counter_randint(seed, truth.n_users, episode, _USER) if users is None else \
        np.broadcast_to(np.asarray(users, dtype=np.int64), episode.shape).copy()
    slot = counter_randint(seed, truth.interests.shape[1], episode, _INTEREST)
    interest = truth.interests[user, slot].astype(np.int64)
    neighbour = counter_randint(seed, truth.interest_neighbours[user], episode, _FIRST_TRACK)
    first_track = np.asarray(truth.interest_nearest[user, slot, neighbour], dtype=np.int64)
    return EpisodeStarts(episode=episode, user=user, interest=interest, first_track=first_track)


def budget_uniform(seed: int, episode: npt.ArrayLike, step: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The uniform draw compared with the listened time after step ``step`` of ``episode``."""
    return counter_uniform(seed, episode, step, BUDGET_STREAM)


def budget_uniform_one(seed: int, episode: int, step: int) -> float:
    """Scalar twin of ``budget_uniform`` (bit-identical, no NumPy overhead)."""
    return counter_uniform_one(seed, episode, step, BUDGET_STREAM)


def session_numbers(users: npt.NDArray[np.int64], already_played: npt.NDArray[np.int64] | None = None
                    ) -> npt.NDArray[np.int64]:
    """Per-user session number of each episode: earlier episodes of the same user, plus earlier days' count.

    ``users`` is in episode order. If ``already_played`` (sessions per user so far) is given, it is advanced.
    """
    order = np.argsort(users, kind="stable")
    sorted_users = users[order]
    first_of_group = np.r_[True, sorted_users[1:] != sorted_users[:-1]]
    group_start = np.maximum.accumulate(np.where(first_of_group, np.arange(len(users)), 0))
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - group_start
    if already_played is None:
        return rank
    numbers = rank + already_played[users]
    np.add.at(already_played, users, 1)
    return numbers
