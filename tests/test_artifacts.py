"""Artifacts round-trip, and anything corrupt or built for another catalog is refused with a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.artifacts import ArtifactError, load_artifact, save_artifact
from botify.world.catalog import Catalog, load_catalog
from botify.world.config import WorldConfig
from botify.world.generate import write_world


def indexed(catalog: Catalog) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    return {"users": np.array([3, 5, 9], dtype=np.int64),
            "items": np.array([[1, 2, -1], [4, 5, 6], [7, -1, -1]], dtype=np.int32)}


class TestArtifacts:
    def test_round_trip_and_versions(self, catalog: Catalog, tmp_path: Path) -> None:
        first = save_artifact(tmp_path, "m", "indexed", indexed(catalog), catalog, metrics={"recall@100": 0.5})
        second = save_artifact(tmp_path, "m", "indexed", indexed(catalog), catalog)
        assert (first.version, second.version) == ("v0001", "v0002")
        loaded = load_artifact(tmp_path, "m", catalog)
        assert loaded.version == "v0002"
        np.testing.assert_array_equal(loaded.arrays["items"], indexed(catalog)["items"])
        assert load_artifact(tmp_path, "m/v0001", catalog).manifest["metrics"] == {"recall@100": 0.5}

    def test_missing(self, catalog: Catalog, tmp_path: Path) -> None:
        with pytest.raises(ArtifactError, match="no artifact 'nope'"):
            load_artifact(tmp_path, "nope", catalog)
        with pytest.raises(ArtifactError, match="NAME or NAME/VERSION"):
            load_artifact(tmp_path, "../etc", catalog)

    def test_corrupt_array(self, catalog: Catalog, tmp_path: Path) -> None:
        artifact = save_artifact(tmp_path, "m", "indexed", indexed(catalog), catalog)
        (artifact.path / "items.npy").write_bytes(b"\x93NUMPY garbage")
        with pytest.raises(ArtifactError, match="corrupt or missing items.npy"):
            load_artifact(tmp_path, "m", catalog)

    def test_out_of_range_tracks(self, catalog: Catalog, tmp_path: Path) -> None:
        bad = indexed(catalog)
        bad["items"][0, 0] = catalog.n_tracks
        with pytest.raises(ArtifactError, match="track ids in"):
            save_artifact(tmp_path, "m", "indexed", bad, catalog)

    def test_other_catalog(self, catalog: Catalog, tmp_path: Path) -> None:
        write_world(tmp_path / "other", WorldConfig(n_tracks=catalog.n_tracks, n_users=20), seed=99)
        other = load_catalog(tmp_path / "other")
        save_artifact(tmp_path / "art", "m", "indexed", indexed(other), other)
        with pytest.raises(ArtifactError, match="was built for another catalog"):
            load_artifact(tmp_path / "art", "m", catalog)
