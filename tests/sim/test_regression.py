"""Fixed-seed regression: today's world and today's sessions, pinned.

The digests below were taken on 2026-11-29 (world generation, and 3,000 in-process episodes of the calibration
experiment on it). The world's was taken again on 2026-12-03, when its ``exp`` and ``power`` became the C library's
(``world/portable.py``): NumPy's own gave an AVX-512 machine a world that differed in the last bits from an AVX2
machine's; the sessions' digest was the same on both. Any change to the generator, the user model, the
counter-based draws or the built-in recommenders that moves a single number makes this fail. New simulator features
that are off by default must leave it green; a deliberate change of today's model updates the pins and says why in
its notes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.experiments import BUNDLED, load_experiments
from botify.sim.agents import InProcessAgent
from botify.sim.world import load_sim_world
from botify.world.config import WorldConfig
from botify.world.generate import generate_world, write_world

CONFIG = WorldConfig(n_tracks=3000, n_users=400)
WORLD_DIGEST = "7283610b99eb133d"
SESSIONS_DIGEST = "07bcdf7559338433"


def digest(*arrays: npt.NDArray[np.generic]) -> str:
    """SHA-256 (first 16 hex digits) of the arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype.str}{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()[:16]


def test_the_world_of_seed_7_is_todays() -> None:
    catalog, truth = generate_world(CONFIG, 7)
    assert digest(catalog.artist_id, catalog.genre_id, catalog.popularity, truth.embeddings, truth.interests,
                  truth.interest_nearest, truth.consume_bias, truth.consume_sharpness) == WORLD_DIGEST


def test_the_sessions_of_seed_5_are_todays(tmp_path: Path) -> None:
    write_world(tmp_path, CONFIG, 7)
    results = InProcessAgent(load_sim_world(tmp_path), load_experiments(BUNDLED / "calibration.yml")).play(
        range(3000), seed=5)
    assert digest(results.episode, results.user, results.session, results.tracks, results.time) == SESSIONS_DIGEST
