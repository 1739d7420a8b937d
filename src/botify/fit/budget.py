r"""The session budget ``B`` by maximum likelihood of where sessions ended, given their logged listening times.

After each recommended track the budget drops by one with probability ``1 − time`` (the user model's draw
``u > time``), and the session ends at the ``B``-th drop. The times are in the log, so a finished session of
``T`` recommendations has the exact likelihood

.. math::

    P(T \\mid B) = P(\\text{exactly } B − 1 \\text{ drops in steps } 1..T−1) · (1 − y_T),

a Poisson-binomial probability computed by dynamic programming over the drops so far. ``B`` is one integer for
all users (the course's users share it); unfinished sessions are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError
from botify.fit.data import FitData

__all__ = ["BudgetFit", "fit_budget"]


@dataclass(frozen=True)
class BudgetFit:
    """The fitted budget and the log-likelihood of every candidate (index ``b - 1`` for budget ``b``)."""

    budget: int
    log_likelihood: npt.NDArray[np.float64]
    sessions: int


def fit_budget(data: FitData, max_budget: int = 30) -> BudgetFit:
    """The ``B`` in ``1..max_budget`` that makes the finished sessions' ends most likely."""
    finished = np.flatnonzero(data.session_finished & (data.session_length > 0))
    if len(finished) == 0:
        raise ConfigError("no finished session with a recommendation in the logs: the session budget cannot be fitted")
    # Sessions longest first, so that the sessions still going at any step are a prefix.
    lengths = data.session_length[finished]
    by_length = finished[np.argsort(-lengths, kind="stable")]
    lengths = data.session_length[by_length]
    position = np.full(data.n_sessions, -1, dtype=np.int64)
    position[by_length] = np.arange(len(by_length))
    take = np.flatnonzero(position[data.row_session] >= 0)
    take = take[np.argsort(data.row_step[take], kind="stable")]
    step_bounds = np.searchsorted(data.row_step[take], np.arange(1, int(lengths[0]) + 2))
    counts = np.zeros((len(by_length), max_budget))  # P(exactly d drops so far), d = 0..max_budget-1
    counts[:, 0] = 1.0
    log_likelihood = np.zeros(max_budget)
    for step in range(int(lengths[0])):
        active = int(np.searchsorted(-lengths, -step, side="left"))  # sessions longer than `step`
        rows = take[step_bounds[step] : step_bounds[step + 1]]
        p = np.zeros((active, 1))
        p[position[data.row_session[rows]], 0] = 1.0 - data.row_time[rows]
        ends = lengths[:active] == step + 1
        if ends.any():
            ending = counts[:active][ends] * p[ends]  # P(d drops before, and a drop now) = P(end with B = d + 1)
            log_likelihood += np.log(np.maximum(ending, 1e-300)).sum(axis=0)
        shifted = np.zeros_like(counts[:active])
        shifted[:, 1:] = counts[:active, :-1] * p
        counts[:active] = counts[:active] * (1.0 - p) + shifted
    best = int(np.argmax(log_likelihood)) + 1
    return BudgetFit(budget=best, log_likelihood=log_likelihood, sessions=len(finished))
