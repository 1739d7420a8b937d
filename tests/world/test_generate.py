"""World generation: reproducibility, the public/private split, realistic structure and validation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from botify.errors import ConfigError, WorldError
from botify.world.catalog import load_catalog
from botify.world.config import WorldConfig
from botify.world.generate import write_world
from botify.world.reference import export_reference
from botify.world.truth import load_truth, nearest_by_inner_product

TINY = WorldConfig(n_tracks=800, n_users=50)


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


class TestReproducibility:
    def test_same_seed_gives_identical_files(self, tmp_path: Path) -> None:
        write_world(tmp_path / "a", TINY, seed=3)
        write_world(tmp_path / "b", TINY, seed=3)
        assert digest(tmp_path / "a") == digest(tmp_path / "b")

    def test_other_seed_gives_another_world(self, tmp_path: Path) -> None:
        write_world(tmp_path / "a", TINY, seed=3)
        write_world(tmp_path / "b", TINY, seed=4)
        assert digest(tmp_path / "a")["truth/embeddings.npy"] != digest(tmp_path / "b")["truth/embeddings.npy"]


class TestLayout:
    def test_catalog_is_public_and_truth_is_apart(self, world_dir: Path) -> None:
        public = {p.name for p in (world_dir / "catalog").iterdir()}
        private = {p.name for p in (world_dir / "truth").iterdir()}
        assert public == {"tracks.parquet", "manifest.json"}
        assert {"embeddings.npy", "users.parquet", "interest_nearest.npy"} <= private

    def test_catalog_has_readable_metadata(self, world_dir: Path) -> None:
        catalog = load_catalog(world_dir)
        meta = catalog.describe(0)
        assert set(meta) == {"track", "artist", "title", "genre", "popularity"}
        assert meta["title"] and meta["artist"] and 0 < meta["popularity"] <= 1
        assert catalog.popularity.max() == 1.0

    def test_long_tails(self, world_dir: Path) -> None:
        catalog = load_catalog(world_dir)
        sizes = np.bincount(catalog.artist_id)
        assert sizes.max() > 5 * np.median(sizes)
        popularity = np.sort(catalog.popularity)[::-1]
        assert popularity[: len(popularity) // 10].sum() > 0.5 * popularity.sum()

    def test_same_artist_tracks_are_closer_than_random(self, world_dir: Path) -> None:
        catalog, truth = load_catalog(world_dir), load_truth(world_dir)
        e = np.asarray(truth.embeddings, dtype=np.float64)
        order = np.argsort(catalog.artist_id, kind="stable")
        pairs = catalog.artist_id[order[1:]] == catalog.artist_id[order[:-1]]
        same = (e[order[1:]][pairs] * e[order[:-1]][pairs]).sum(1).mean()
        rng = np.random.default_rng(0)
        a, b = rng.integers(len(e), size=(2, 5000))
        assert same > (e[a] * e[b]).sum(1).mean() + 3

    def test_interest_nearest_is_exact(self, world_dir: Path) -> None:
        truth = load_truth(world_dir)
        e = np.asarray(truth.embeddings)
        for user in range(0, truth.n_users, 37):
            for slot, interest in enumerate(truth.interests[user]):
                scores = e @ e[interest]
                expected = np.lexsort((np.arange(len(e)), -scores))[: truth.interest_neighbours[user]]
                assert truth.interest_nearest[user, slot].tolist() == expected.tolist()

    def test_missing_world_says_how_to_make_one(self, tmp_path: Path) -> None:
        with pytest.raises(WorldError, match="botify world generate --out"):
            load_catalog(tmp_path / "nowhere")


class TestNearest:
    def test_matches_brute_force(self) -> None:
        rng = np.random.default_rng(1)
        e = rng.standard_normal((5000, 8)).astype(np.float32)
        got = nearest_by_inner_product(e, e[:300], 10)
        scores = e[:300] @ e.T
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :10]
        np.testing.assert_array_equal(got, expected)


class TestConfig:
    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"n_tracks": 0}, "`n_tracks` must be a positive integer, got 0"),
            ({"consume_bias_low": 6.0, "consume_bias_high": 5.0}, "`consume_bias_low` must be <="),
            ({"artist_discount_gamma": 1.5}, r"`artist_discount_gamma` must be in \(0, 1\]"),
            ({"home_scene_share": 2.0}, r"`home_scene_share` must be in \[0, 1\]"),
        ],
    )
    def test_rejects_bad_values(self, values: dict[str, float], message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            WorldConfig(**values)  # type: ignore[arg-type]

    def test_from_dict_names_unknown_keys(self) -> None:
        with pytest.raises(ConfigError, match=r"unknown world parameter\(s\) \['colour'\]"):
            WorldConfig.from_dict({"colour": 3})


class TestReferenceExport:
    def test_writes_the_course_formats(self, world_dir: Path, tmp_path: Path) -> None:
        export_reference(world_dir, tmp_path)
        track = json.loads((tmp_path / "tracks.json").read_text().splitlines()[0])
        assert list(track)[:3] == ["track", "artist", "title"]  # the course's fields first, ours after
        embeddings = np.load(tmp_path / "tracks.npy")
        assert embeddings.dtype == np.float32 and embeddings.shape[0] == load_catalog(world_dir).n_tracks
        user = json.loads((tmp_path / "users.json").read_text().splitlines()[0])
        assert {"user", "interests", "consume_bias", "consume_sharpness"} <= set(user)
        assert len((tmp_path / "users.json").read_text().splitlines()) == load_truth(world_dir).n_users
