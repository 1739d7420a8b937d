"""The user model's parameters as a PyTorch module: track embeddings, each user's bias and sharpness, and ``γ``.

A track's embedding follows the public catalog's hierarchy, ``e = g[genre] + a[artist] + t[track]``, so a track
the logs rarely show borrows its artist's and genre's direction (a track never logged is its artist's centre).
Users' ``b`` and ``log s`` have Gaussian priors around population means that are fitted with them: a user with
few sessions stays near the population. ``γ`` and the likelihood's noise scale ``σ`` are one value each.

``γ`` has a floor that the logs prove: a time ``y`` at artist count ``c`` is at most ``round(γ^c, 2)``, so
``γ ≥ (y − 0.005)^{1/c}`` for every logged row; below the largest such bound the likelihood is zero. The fit
keeps ``γ`` between that floor and 1 (without it, an optimiser can trade a small ``γ`` for huge scores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from botify.fit.likelihood import interval_log_likelihood

__all__ = ["Priors", "TasteModel"]


@dataclass(frozen=True)
class Priors:
    """Prior scales (Gaussian): embeddings' levels, and users' spread around the population."""

    genre: float = 0.5
    artist: float = 0.5
    track: float = 0.1
    bias: float = 2.0
    log_sharpness: float = 0.5


class TasteModel(torch.nn.Module):
    """``time = round(sigmoid((e_r · e_j − b_u) · s_u) · γ^c, 2)`` with every parameter learnable."""

    def __init__(self, genre_of_track: npt.NDArray[np.int64], artist_of_track: npt.NDArray[np.int64], n_users: int,
                 dim: int, priors: Priors, generator: torch.Generator, gamma_floor: float = 0.0) -> None:
        super().__init__()
        self.priors = priors
        self.register_buffer("genre_of_track", torch.as_tensor(genre_of_track))
        self.register_buffer("artist_of_track", torch.as_tensor(artist_of_track))
        n_genres, n_artists, n_tracks = int(genre_of_track.max()) + 1, int(artist_of_track.max()) + 1, \
            len(genre_of_track)

        def table(rows: int, scale: float) -> torch.nn.Parameter:
            return torch.nn.Parameter(torch.randn(rows, dim, generator=generator, dtype=torch.float32) * scale)

        self.genre = table(n_genres, 0.3)
        self.artist = table(n_artists, 0.3)
        self.track = table(n_tracks, 0.1)
        self.bias = torch.nn.Parameter(torch.full((n_users,), 1.0, dtype=torch.float32))
        self.log_sharpness = torch.nn.Parameter(torch.zeros(n_users, dtype=torch.float32))
        self.bias_mean = torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float32))
        self.log_sharpness_mean = torch.nn.Parameter(torch.tensor(0.0, dtype=torch.float32))
        self.gamma_floor = gamma_floor
        self.gamma_logit = torch.nn.Parameter(torch.tensor(-2.0, dtype=torch.float32))
        self.log_noise = torch.nn.Parameter(torch.tensor(0.0, dtype=torch.float32))

    def embed(self, tracks: torch.Tensor) -> torch.Tensor:
        """The embeddings of ``tracks``."""
        genre_of_track: torch.Tensor = self.genre_of_track  # type: ignore[assignment]
        artist_of_track: torch.Tensor = self.artist_of_track  # type: ignore[assignment]
        return self.genre[genre_of_track[tracks]] + self.artist[artist_of_track[tracks]] + self.track[tracks]

    def embeddings(self) -> npt.NDArray[np.float32]:
        """Every track's embedding, as the world stores them."""
        with torch.no_grad():
            return self.embed(torch.arange(self.track.shape[0])).numpy().astype(np.float32)

    @property
    def gamma(self) -> torch.Tensor:
        """The artist discount ``γ``, between the logs' floor and 1."""
        return self.gamma_floor + (1.0 - self.gamma_floor) * torch.sigmoid(self.gamma_logit)

    def logit(self, users: torch.Tensor, tracks: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        """``z = (e_r · e_j − b_u) · s_u`` per row."""
        score = (self.embed(tracks) * self.embed(interests)).sum(dim=1)
        return (score - self.bias[users]) * torch.exp(self.log_sharpness[users])

    def log_likelihood(self, users: torch.Tensor, tracks: torch.Tensor, interests: torch.Tensor,
                       artist_count: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """``log P(time)`` per row under the censored logistic likelihood (``botify.fit.likelihood``)."""
        discount = torch.pow(self.gamma, artist_count)
        return interval_log_likelihood(self.logit(users, tracks, interests), time, discount, torch.exp(self.log_noise))

    def log_prior(self) -> torch.Tensor:
        """The Gaussian priors' log density (up to a constant)."""
        p = self.priors
        return -0.5 * (
            (self.genre**2).sum() / p.genre**2 + (self.artist**2).sum() / p.artist**2
            + (self.track**2).sum() / p.track**2
            + ((self.bias - self.bias_mean) ** 2).sum() / p.bias**2
            + ((self.log_sharpness - self.log_sharpness_mean) ** 2).sum() / p.log_sharpness**2
        )
