"""Export a world in the reference course's formats, so its own simulator and notebooks run on it.

``tracks.json`` (JSON lines: the course's track, artist, title, then genre, popularity,
artist_id and genre_id), ``tracks.npy``
(float32 embeddings) and ``users.json`` (JSON lines: user, interests and the user model's parameters).
``botify world import-reference`` reads them back (``reference_import.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from botify.world.catalog import load_catalog
from botify.world.truth import load_truth

__all__ = ["export_reference"]


def export_reference(world_dir: str | Path, out: str | Path) -> list[Path]:
    """Write the reference files of ``world_dir`` into ``out``; return their paths."""
    catalog, truth = load_catalog(world_dir), load_truth(world_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tracks_json, tracks_npy, users_json = out / "tracks.json", out / "tracks.npy", out / "users.json"
    with tracks_json.open("w") as handle:
        for track in range(catalog.n_tracks):
            meta = catalog.describe(track)
            row = {"track": track, "artist": meta["artist"], "title": meta["title"], "genre": meta["genre"],
                   "popularity": float(catalog.popularity[track]), "artist_id": int(catalog.artist_id[track]),
                   "genre_id": int(catalog.genre_id[track])}
            handle.write(json.dumps(row) + "\n")
    np.save(tracks_npy, np.asarray(truth.embeddings, dtype=np.float32))
    with users_json.open("w") as handle:
        for user in range(truth.n_users):
            row = {
                "user": user,
                "interests": truth.interests[user].tolist(),
                "interest_neighbours": int(truth.interest_neighbours[user]),
                "consume_bias": float(truth.consume_bias[user]),
                "consume_sharpness": float(truth.consume_sharpness[user]),
                "session_budget": int(truth.session_budget[user]),
                "artist_discount_gamma": float(truth.artist_discount_gamma[user]),
            }
            handle.write(json.dumps(row) + "\n")
    return [tracks_json, tracks_npy, users_json]
