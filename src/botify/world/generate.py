"""Generate a seeded music world: genres → artists → tracks in a taste space, and users.

Everything derives from one ``make_rng(seed)``; the same seed and config give byte-identical files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify import __version__
from botify.world.catalog import Catalog
from botify.world.config import WorldConfig
from botify.world.names import GENRES, artist_names, track_titles
from botify.world.portable import portable_exp, portable_power
from botify.world.returns import generate_returns
from botify.world.seeding import check_seed, make_rng
from botify.world.truth import Truth, nearest_by_inner_product

__all__ = ["generate_world", "write_world"]


def _unit_rows(rng: np.random.Generator, rows: int, dim: int) -> npt.NDArray[np.float64]:
    vectors = rng.standard_normal((rows, dim))
    unit: npt.NDArray[np.float64] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit


def _artist_sizes(rng: np.random.Generator, config: WorldConfig) -> npt.NDArray[np.int64]:
    """Long-tailed artist sizes summing exactly to ``n_tracks``."""
    sigma = config.artist_size_sigma
    mu = math.log(max(config.mean_artist_size - 0.5, 0.5)) - sigma**2 / 2
    estimate = int(config.n_tracks / config.mean_artist_size * 1.5) + 16
    sizes = np.maximum(1, np.round(rng.lognormal(mu, sigma, size=estimate))).astype(np.int64)
    total = np.cumsum(sizes)
    count = int(np.searchsorted(total, config.n_tracks)) + 1
    sizes = sizes[:count]
    sizes[-1] -= int(sizes.sum()) - config.n_tracks
    return sizes[sizes > 0]


def generate_world(config: WorldConfig, seed: int) -> tuple[Catalog, Truth]:
    """Build the public catalog and the private truth of a world."""
    seed = check_seed(seed)
    rng = make_rng(seed)
    n_genres = config.n_genres
    genre_names = [GENRES[i % len(GENRES)] + ("" if i < len(GENRES) else f" {i // len(GENRES) + 1}")
                   for i in range(n_genres)]
    genre_centres = _unit_rows(rng, n_genres, config.dim) * config.genre_scale
    genre_share = 1.0 / portable_power(np.arange(1, n_genres + 1), config.genre_zipf)
    genre_share /= genre_share.sum()

    sizes = _artist_sizes(rng, config)
    n_artists = len(sizes)
    n_scenes = n_genres * config.scenes_per_genre
    scene_genre = np.repeat(np.arange(n_genres), config.scenes_per_genre)
    scene_centres = genre_centres[scene_genre] + _unit_rows(rng, n_scenes, config.dim) * config.scene_scale
    scene_share = genre_share[scene_genre] * rng.dirichlet(np.ones(config.scenes_per_genre), size=n_genres).ravel()
    artist_scene = rng.choice(n_scenes, size=n_artists, p=scene_share / scene_share.sum())
    artist_genre = scene_genre[artist_scene]
    artist_centres = scene_centres[artist_scene] + _unit_rows(rng, n_artists, config.dim) * config.artist_scale
    artist_popularity = rng.lognormal(0.0, config.artist_popularity_sigma, size=n_artists)

    # Track ids are shuffled so that one artist's tracks are not contiguous, as in real catalogs.
    artist_of_slot = np.repeat(np.arange(n_artists), sizes)
    track_artist = artist_of_slot[rng.permutation(config.n_tracks)].astype(np.int32)
    offsets = rng.standard_normal((config.n_tracks, config.dim)) * (config.track_scale / math.sqrt(config.dim))
    embeddings = (artist_centres[track_artist] + offsets).astype(np.float32)
    raw_popularity = artist_popularity[track_artist] * rng.lognormal(
        0.0, config.track_popularity_sigma, size=config.n_tracks
    )
    popularity = (raw_popularity / raw_popularity.max()).astype(np.float32)

    catalog = Catalog(
        artist_id=track_artist,
        artist_names=artist_names(rng, n_artists),
        title=track_titles(rng, config.n_tracks),
        genre_id=artist_genre[track_artist].astype(np.int16),
        genre_names=genre_names,
        popularity=popularity,
        manifest={"seed": seed, "n_tracks": config.n_tracks, "n_artists": n_artists, "botify": __version__},
    )

    interests = _sample_interests(rng, popularity, artist_scene[track_artist], config)
    nearest = nearest_by_inner_product(embeddings, embeddings[interests.reshape(-1)], config.interest_neighbours)
    sharpness = portable_exp(rng.uniform(math.log(config.consume_sharpness_low),
                                         math.log(config.consume_sharpness_high), size=config.n_users))
    truth = Truth(
        embeddings=embeddings,
        interests=interests,
        interest_nearest=nearest.reshape(config.n_users, config.interests_per_user, -1),
        interest_neighbours=np.full(config.n_users, config.interest_neighbours, dtype=np.int32),
        consume_bias=rng.uniform(config.consume_bias_low, config.consume_bias_high, size=config.n_users),
        consume_sharpness=sharpness,
        session_budget=np.full(config.n_users, config.session_budget, dtype=np.int32),
        artist_discount_gamma=np.full(config.n_users, config.artist_discount_gamma, dtype=np.float64),
        manifest={"seed": seed, "config": config.to_dict(), "botify": __version__},
        returns=generate_returns(config, seed),
    )
    return catalog, truth


def _sample_interests(
    rng: np.random.Generator, popularity: npt.NDArray[np.float32], track_scene: npt.NDArray[np.int64],
    config: WorldConfig,
) -> npt.NDArray[np.int32]:
    """Distinct interest tracks per user, drawn with probability ∝ popularity ** power.

    Each user has a home scene (drawn like an interest); each interest comes from it with probability
    ``home_scene_share``, else from the whole catalog.
    """
    weight = portable_power(popularity, config.interest_popularity_power)
    order = np.argsort(track_scene, kind="stable")
    scene_weight = weight[order]
    cdf_all = np.cumsum(weight)
    cdf_all /= cdf_all[-1]
    n_scenes = int(track_scene.max()) + 1
    scene_start = np.searchsorted(track_scene[order], np.arange(n_scenes + 1))
    cdf_scene = np.cumsum(scene_weight)
    shape = (config.n_users, config.interests_per_user)

    def draw(rows: int) -> npt.NDArray[np.int64]:
        home = track_scene[np.minimum(np.searchsorted(cdf_all, rng.random(rows), side="right"), config.n_tracks - 1)]
        anywhere = np.minimum(np.searchsorted(cdf_all, rng.random((rows, shape[1])), side="right"), config.n_tracks - 1)
        low = np.where(scene_start[home] > 0, cdf_scene[scene_start[home] - 1], 0.0)
        high = cdf_scene[scene_start[home + 1] - 1]
        target = low[:, None] + rng.random((rows, shape[1])) * (high - low)[:, None]
        in_home = np.searchsorted(cdf_scene, target, side="right")
        in_home = np.clip(in_home, scene_start[home][:, None], scene_start[home + 1][:, None] - 1)
        from_home = rng.random((rows, shape[1])) < config.home_scene_share
        return np.where(from_home, order[in_home], anywhere)

    interests = draw(shape[0])
    while True:
        ordered = np.sort(interests, axis=1)
        clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not clash.any():
            return interests.astype(np.int32)
        interests[clash] = draw(int(clash.sum()))


def write_world(out: str | Path, config: WorldConfig, seed: int) -> tuple[Catalog, Truth]:
    """Generate a world and write ``out/catalog`` (public) and ``out/truth`` (simulator-private)."""
    catalog, truth = generate_world(config, seed)
    out = Path(out)
    catalog.save(out)
    truth.save(out)
    return catalog, truth
