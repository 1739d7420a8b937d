"""DM's reward model, fitted on the logged decisions alone.

``q̂(x, a) = β0 + β1 · (the track's shrunk mean reward) + β2 · [a shares the previous track's artist]``, by least
squares; a track's mean reward is shrunk towards the overall mean with the weight of ``prior`` pseudo-decisions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from botify.ope.decisions import Decisions
from botify.recommenders.base import Requests

__all__ = ["RewardModel"]


class RewardModel:
    """``q̂(x, a)`` from the logs: the track's shrunk mean reward and whether it shares the previous track's artist."""

    def __init__(self, decisions: Decisions, artist_id: npt.NDArray[np.int64], n_tracks: int, prior: float = 20.0):
        self.artist_id = artist_id
        overall = float(decisions.reward.mean())
        sums = np.bincount(decisions.action, weights=decisions.reward, minlength=n_tracks)
        counts = np.bincount(decisions.action, minlength=n_tracks)
        self.track_mean = (sums + prior * overall) / (counts + prior)
        features = self._features(decisions.requests, decisions.action)
        self.coefficients, *_ = np.linalg.lstsq(features, decisions.reward, rcond=None)

    def _features(self, requests: Requests, tracks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        same_artist = (self.artist_id[tracks] == self.artist_id[requests.track]).astype(np.float64)
        return np.column_stack([np.ones(len(tracks)), self.track_mean[tracks], same_artist])

    def predict(self, requests: Requests, tracks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """``q̂`` of each (request, track), clipped to [0, 1]."""
        return np.clip(self._features(requests, tracks) @ self.coefficients, 0.0, 1.0)
