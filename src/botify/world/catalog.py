"""The public catalog: what every part of the lab may read about tracks.

A world directory holds ``catalog/`` (public: this module) and ``truth/`` (simulator-private: ``truth.py``).
The catalog is one Parquet file, ``catalog/tracks.parquet``, with the columns of ``Catalog``, plus a JSON
manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from botify.errors import WorldError

__all__ = ["CATALOG_DIR", "Catalog", "load_catalog"]

CATALOG_DIR = "catalog"
_TRACKS_FILE = "tracks.parquet"
_MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Catalog:
    """Public track metadata, one row per track id ``0 .. n_tracks - 1``.

    Attributes
    ----------
    artist_id : int32 array, the artist of each track (``0 .. n_artists - 1``).
    artist, title, genre : names, for display.
    popularity : float32 array in (0, 1], the relative popularity (the most popular track has 1).
    """

    artist_id: npt.NDArray[np.int32]
    artist_names: list[str]
    title: list[str]
    genre_id: npt.NDArray[np.int16]
    genre_names: list[str]
    popularity: npt.NDArray[np.float32]
    manifest: dict[str, Any]

    @property
    def n_tracks(self) -> int:
        """Number of tracks."""
        return int(self.artist_id.shape[0])

    @property
    def n_artists(self) -> int:
        """Number of artists."""
        return len(self.artist_names)

    def describe(self, track: int) -> dict[str, Any]:
        """Return the public metadata of one track (the service's ``GET /track/{track}`` body)."""
        if not 0 <= track < self.n_tracks:
            raise KeyError(track)
        return {
            "track": int(track),
            "artist": self.artist_names[int(self.artist_id[track])],
            "title": self.title[track],
            "genre": self.genre_names[int(self.genre_id[track])],
            "popularity": round(float(self.popularity[track]), 6),
        }

    def tracks_by_artist(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Return ``(order, offsets)``: tracks sorted by artist, and each artist's slice start (CSR layout)."""
        order = np.argsort(self.artist_id, kind="stable").astype(np.int64)
        counts = np.bincount(self.artist_id, minlength=self.n_artists)
        offsets = np.zeros(self.n_artists + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return order, offsets

    def save(self, world_dir: Path) -> None:
        """Write ``world_dir/catalog/``."""
        out = Path(world_dir) / CATALOG_DIR
        out.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "track": pa.array(np.arange(self.n_tracks, dtype=np.int32)),
                "artist_id": pa.array(self.artist_id),
                "artist": pa.DictionaryArray.from_arrays(pa.array(self.artist_id), pa.array(self.artist_names)),
                "title": pa.array(self.title, type=pa.string()),
                "genre": pa.DictionaryArray.from_arrays(pa.array(self.genre_id), pa.array(self.genre_names)),
                "popularity": pa.array(self.popularity),
            }
        )
        pq.write_table(table, out / _TRACKS_FILE, compression="zstd")
        (out / _MANIFEST_FILE).write_text(json.dumps(self.manifest, indent=2, sort_keys=True) + "\n")


def load_catalog(world_dir: str | Path) -> Catalog:
    """Read the public catalog of a world directory; raise ``WorldError`` with the fix if it is missing."""
    path = Path(world_dir) / CATALOG_DIR
    tracks_path = path / _TRACKS_FILE
    if not tracks_path.is_file():
        raise WorldError(
            f"no catalog at {tracks_path}; generate a world first: `botify world generate --out {world_dir}`"
        )
    table = pq.read_table(tracks_path)
    if table.column("track").to_numpy().tolist() != list(range(table.num_rows)):
        raise WorldError(f"{tracks_path}: track ids must be 0..n-1 in order")
    artist = table.column("artist").combine_chunks()
    genre = table.column("genre").combine_chunks()
    manifest = json.loads((path / _MANIFEST_FILE).read_text()) if (path / _MANIFEST_FILE).is_file() else {}
    return Catalog(
        artist_id=table.column("artist_id").to_numpy().astype(np.int32),
        artist_names=artist.dictionary.to_pylist(),
        title=table.column("title").to_pylist(),
        genre_id=genre.indices.to_numpy().astype(np.int16),
        genre_names=genre.dictionary.to_pylist(),
        popularity=table.column("popularity").to_numpy().astype(np.float32),
        manifest=manifest,
    )
