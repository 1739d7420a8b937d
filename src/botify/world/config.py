"""The knobs that shape a generated world, with the defaults that calibrate it.

Each knob says what it changes in the simulated behaviour; ``docs/world.md`` has the longer story and the
calibration table these defaults were chosen for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from botify.errors import ConfigError

__all__ = ["WorldConfig"]


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of the world generator.

    Geometry: a track's taste embedding is ``genre centre + scene offset + artist offset + track offset``;
    inner products between embeddings drive the user model, so the scales set how much users like another
    track of the same genre, of the same scene, of the same artist, or the very track they came for.
    """

    n_tracks: int = 50_000
    """Catalog size."""
    n_users: int = 10_000
    """Number of simulated users."""
    dim: int = 96
    """Embedding dimension. Higher makes unrelated tracks more orthogonal (less accidental liking)."""
    n_genres: int = 16
    """Number of genres; each is a direction in embedding space."""
    genre_scale: float = 1.2
    """Norm of a genre centre. Its square is the typical score of two tracks of one genre."""
    scenes_per_genre: int = 8
    """Scenes (sub-genres) per genre; artists of one scene sound alike."""
    scene_scale: float = 2.1
    """Norm of a scene's offset from its genre. Raises scores between artists of one scene (what DSSM finds)."""
    artist_scale: float = 1.0
    """Norm of an artist's offset from its scene. Raises same-artist scores (StickyArtist's lift)."""
    track_scale: float = 1.6
    """Norm of a track's offset from its artist. Makes tracks of one artist differ."""
    mean_artist_size: float = 9.0
    """Mean number of tracks per artist; sizes are log-normal (long-tailed)."""
    artist_size_sigma: float = 1.0
    """Log-normal sigma of artist sizes."""
    genre_zipf: float = 0.0
    """Zipf exponent of genre shares: a few big genres, many niche ones."""
    artist_popularity_sigma: float = 1.5
    """Log-normal sigma of artist popularity (long tail of plays)."""
    track_popularity_sigma: float = 0.8
    """Log-normal sigma of a track's popularity around its artist's."""
    interests_per_user: int = 3
    """Interest tracks per user; a session starts near one of them."""
    interest_popularity_power: float = 0.0
    """Users pick interests with probability proportional to popularity to this power (0 = uniform)."""
    home_scene_share: float = 0.75
    """Probability that an interest comes from the user's home scene (else from anywhere): coherent taste."""
    interest_neighbours: int = 10
    """The first track of a session is uniform among this many tracks nearest to the interest."""
    consume_bias_low: float = 5.0
    """Lower end of the uniform consume_bias b (reference: 0)."""
    consume_bias_high: float = 10.0
    """Upper end of the uniform consume_bias b (reference: 10)."""
    consume_sharpness_low: float = 0.5
    """Lower end of the log-uniform consume_sharpness s."""
    consume_sharpness_high: float = 2.0
    """Upper end of the log-uniform consume_sharpness s."""
    session_budget: int = 5
    """Budget B of every session (reference default)."""
    artist_discount_gamma: float = 0.8
    """Artist fatigue gamma of every user (reference default)."""
    session_fatigue: float = 1.0
    """Boredom within a session: listened time is multiplied by session_fatigue ** k, k = the recommendations
    already played in the session; 1 = off (the reference). Not in the course's model: the fit study's example of
    a mechanism a fitted world cannot express (docs/fit.md)."""

    # The return model (docs/returns.md). Off: users are drawn uniformly for every episode, as in the reference.
    return_model: bool = False
    """Users come back on later days (or leave) depending on how their sessions went."""
    visit_alpha: float = 2.0
    """Beta(alpha, beta) of a user's initial daily visit probability."""
    visit_beta: float = 3.0
    """Beta(alpha, beta) of a user's initial daily visit probability (mean alpha / (alpha + beta) = 0.4)."""
    expectation_median: float = 2.5
    """Median session time a user expects at first (log-normal across users)."""
    expectation_sigma: float = 0.3
    """Log-normal sigma of the initial expectation."""
    expectation_adaptation: float = 0.1
    """Share of the gap to the last session's time by which the expectation moves after each session."""
    satisfaction_rate: float = 0.4
    """Step of the visit log-odds per unit of satisfaction (satisfaction is in (-1, 1))."""
    repeat_share: float = 0.5
    """Another session the same day with probability repeat_share x the visit probability."""
    max_sessions_per_day: int = 4
    """At most this many sessions per user and day."""
    churn_probability: float = 0.05
    """Probability of leaving for good after the worst possible session; scales with (1 - satisfaction) / 2."""
    artist_fatigue: float = 0.6
    """Listened time is multiplied by artist_fatigue ** F (F: the artist's recent sessions); 1 = no fatigue."""
    fatigue_recovery: float = 0.8
    """F is multiplied by this every day (0 = forgotten overnight, 1 = never forgotten)."""

    def __post_init__(self) -> None:
        positive_ints = ("n_tracks", "n_users", "dim", "n_genres", "scenes_per_genre", "interests_per_user",
                         "interest_neighbours", "session_budget")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"`{name}` must be a positive integer, got {value!r}")
        non_negative = ("genre_scale", "scene_scale", "artist_scale", "track_scale", "artist_size_sigma", "genre_zipf",
                        "artist_popularity_sigma", "track_popularity_sigma", "interest_popularity_power")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.home_scene_share <= 1:
            raise ConfigError(f"`home_scene_share` must be in [0, 1], got {self.home_scene_share!r}")
        if self.mean_artist_size < 1:
            raise ConfigError(f"`mean_artist_size` must be >= 1, got {self.mean_artist_size!r}")
        if self.interests_per_user > self.n_tracks:
            raise ConfigError(f"`interests_per_user` ({self.interests_per_user}) exceeds `n_tracks` ({self.n_tracks})")
        if self.interest_neighbours > self.n_tracks:
            raise ConfigError(
                f"`interest_neighbours` ({self.interest_neighbours}) exceeds `n_tracks` ({self.n_tracks})"
            )
        if not self.consume_bias_low <= self.consume_bias_high:
            raise ConfigError(
                f"`consume_bias_low` must be <= `consume_bias_high`, got {self.consume_bias_low} > "
                f"{self.consume_bias_high}"
            )
        if not 0 < self.consume_sharpness_low <= self.consume_sharpness_high:
            raise ConfigError(
                "`consume_sharpness_low` must be > 0 and <= `consume_sharpness_high`, got "
                f"{self.consume_sharpness_low} and {self.consume_sharpness_high}"
            )
        if not 0 < self.artist_discount_gamma <= 1:
            raise ConfigError(f"`artist_discount_gamma` must be in (0, 1], got {self.artist_discount_gamma}")
        if not 0 < self.session_fatigue <= 1:
            raise ConfigError(f"`session_fatigue` must be in (0, 1], got {self.session_fatigue}")
        self._check_return_model()

    def _check_return_model(self) -> None:
        if not isinstance(self.return_model, bool):
            raise ConfigError(f"`return_model` must be true or false, got {self.return_model!r}")
        for name in ("visit_alpha", "visit_beta", "expectation_median"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"`{name}` must be > 0, got {getattr(self, name)!r}")
        for name in ("expectation_sigma", "satisfaction_rate"):
            if getattr(self, name) < 0:
                raise ConfigError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")
        for name in ("expectation_adaptation", "repeat_share", "churn_probability", "fatigue_recovery"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"`{name}` must be in [0, 1], got {getattr(self, name)!r}")
        if not 0 < self.artist_fatigue <= 1:
            raise ConfigError(f"`artist_fatigue` must be in (0, 1], got {self.artist_fatigue!r}")
        if not isinstance(self.max_sessions_per_day, int) or self.max_sessions_per_day < 1:
            raise ConfigError(f"`max_sessions_per_day` must be a positive integer, got {self.max_sessions_per_day!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the knobs as a plain dict (for manifests)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> WorldConfig:
        """Build from a dict, rejecting unknown keys with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown world parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**values)
