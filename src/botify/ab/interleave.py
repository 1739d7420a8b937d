r"""Interleaving's answer: which team's picks users listened to longer, with an interval over users.

An ``interleave`` arm (``botify.recommenders.interleave``) serves every user picks of two or more recommenders in
turn, and the service logs each ``next`` line's ``team``. A pick's credit is the listened time of the track it
chose: the ``time`` of the session's following line. Per user and team the credits are summed, and each pair of
teams ``(a, b)`` gets a per-user preference :math:`(C_b - C_a) / (C_a + C_b)` in [-1, 1] (users who listened to
neither team's picks are left out). The answer is its mean over users with a Student-t interval: users are the
independent units, as in the A/B table. A positive preference means ``b``'s picks held users longer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from botify.errors import ConfigError
from botify.logs.reader import EventColumns
from botify.logs.sessions import session_ids

__all__ = ["Credits", "Preference", "interleaving_credits", "preference_scores", "preferences"]


@dataclass(frozen=True)
class Credits:
    """Per (user, team): the listened time of the team's picks and how many picks it made."""

    user: npt.NDArray[np.int64]
    credit: npt.NDArray[np.float64]
    """Shape (users, teams)."""
    picks: npt.NDArray[np.int64]
    """Shape (users, teams)."""
    unanswered: int
    """Picks left out: the last ``next`` of an unfinished session has no line that says how long it was heard."""


def interleaving_credits(events: EventColumns, *, arm: int | None = None) -> Credits:
    """Credit every team's picks from the log's lines (of one ``arm`` of the experiment, if given)."""
    order, session = session_ids(events)
    is_next = ~events.is_last[order]
    answered = np.r_[session[1:] == session[:-1], False]
    picks = is_next & (events.team[order] >= 0)
    if arm is not None:
        picks &= events.arm[order] == arm
    if not picks.any():
        raise ConfigError("no `next` line carries a `team`: the logs hold no interleaved arm"
                          + ("" if arm is None else f" in arm {arm}"))
    credited = picks & answered
    rows = order[credited]
    heard = events.time[order[np.flatnonzero(credited) + 1]]
    users, row_of = np.unique(events.user[rows], return_inverse=True)
    teams = int(events.team[rows].max()) + 1
    cell = row_of.reshape(-1) * teams + events.team[rows]
    shape = (len(users), teams)
    credit = np.bincount(cell, weights=heard, minlength=shape[0] * teams).astype(np.float64).reshape(shape)
    count = np.bincount(cell, minlength=shape[0] * teams).reshape(shape)
    return Credits(users, credit, count.astype(np.int64), int((picks & ~answered).sum()))


@dataclass(frozen=True)
class Preference:
    """Team ``b`` against team ``a``: the mean per-user preference for ``b``, its interval and p-value."""

    a: int
    b: int
    users: int
    preference: float
    lower: float
    upper: float
    pvalue: float
    wins_a: int
    wins_b: int

    def describe(self, names: list[str] | None = None) -> str:
        """One line: who is preferred, by how much, how sure."""
        label = names or [f"team {i}" for i in range(max(self.a, self.b) + 1)]
        return (f"{label[self.b]} vs {label[self.a]}: preference {self.preference:+.4f} "
                f"[{self.lower:+.4f}, {self.upper:+.4f}], p = {self.pvalue:.3g}, {self.users:,} users "
                f"(more time from {label[self.b]}'s picks: {self.wins_b:,}, from {label[self.a]}'s: {self.wins_a:,})")


def preference_scores(credits: Credits, a: int = 0, b: int = 1) -> npt.NDArray[np.float64]:
    """Each user's preference for team ``b`` over ``a``: ``(C_b - C_a) / (C_a + C_b)``.

    Users who heard neither team's picks are left out.
    """
    total = credits.credit[:, a] + credits.credit[:, b]
    heard = total > 0
    scores: npt.NDArray[np.float64] = (credits.credit[heard, b] - credits.credit[heard, a]) / total[heard]
    return scores


def preferences(credits: Credits, *, alpha: float = 0.05) -> list[Preference]:
    """Every pair of teams ``a < b``: the per-user preference for ``b`` (see the module docstring)."""
    results = []
    teams = credits.credit.shape[1]
    for b in range(1, teams):
        for a in range(b):
            score = preference_scores(credits, a, b)
            n = len(score)
            mean = float(score.mean()) if n else float("nan")
            se = float(score.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
            if n > 1 and se > 0:
                half = float(special.stdtrit(n - 1, 1 - alpha / 2)) * se
                pvalue = float(2 * special.stdtr(n - 1, -abs(mean) / se))
            else:
                half, pvalue = float("nan"), float("nan")
            results.append(Preference(a, b, n, mean, mean - half, mean + half, pvalue,
                                      int((score < 0).sum()), int((score > 0).sum())))
    return results
