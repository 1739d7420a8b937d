"""The recipes' cache: a step is reused only when every input of its key is unchanged and its output is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import botify
from botify.experiments import BUNDLED
from botify.recipes import cache
from botify.recipes.cache import CachedStep, collection_key, model_key


@pytest.fixture()
def world_copy(world_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(world_dir, tmp_path / "world"))


def key(world: Path, **change: int) -> dict[str, object]:
    return collection_key(world, BUNDLED / "exploration.yml", **{"seed": 1, "episodes": 100, **change})


class TestCachedStep:
    def test_reused_only_with_the_same_key_and_the_output_present(self, world_copy: Path, tmp_path: Path) -> None:
        output = tmp_path / "logs"
        first = CachedStep(tmp_path / "KEY.json", key(world_copy))
        assert not first.fresh(output) and first.changed() == "no earlier run"
        output.mkdir()
        first.record()
        assert CachedStep(tmp_path / "KEY.json", key(world_copy)).fresh(output)
        assert not CachedStep(tmp_path / "KEY.json", key(world_copy), rebuild=True).fresh(output)
        output.rmdir()
        missing = CachedStep(tmp_path / "KEY.json", key(world_copy))
        assert not missing.fresh(output) and missing.changed() == "its output is missing"

    def test_says_which_inputs_changed(self, world_copy: Path, tmp_path: Path) -> None:
        CachedStep(tmp_path / "KEY.json", key(world_copy)).record()
        assert CachedStep(tmp_path / "KEY.json", key(world_copy, seed=2, episodes=5)).changed() == \
            "changed: episodes, seed"
        truth = world_copy / "truth" / "embeddings.npy"
        truth.write_bytes(truth.read_bytes()[:-4] + b"\0\0\0\0")
        assert CachedStep(tmp_path / "KEY.json", key(world_copy)).changed() == "changed: world"

    def test_a_model_follows_its_collection_day_and_the_training_code(
            self, world_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        collection = key(world_copy)
        before = model_key(collection, "dssm", seed=1)
        assert model_key(key(world_copy, seed=2), "dssm", seed=1)["collection"] != before["collection"]
        package = Path(shutil.copytree(Path(botify.__file__).parent, tmp_path / "botify"))
        monkeypatch.setattr(cache, "_PACKAGE", package)
        assert model_key(collection, "dssm", seed=1)["code"] == before["code"]
        (package / "train" / "dssm.py").write_text((package / "train" / "dssm.py").read_text() + "\n# edited\n")
        assert model_key(collection, "dssm", seed=1)["code"] != before["code"]
        assert collection_key(world_copy, BUNDLED / "exploration.yml", seed=1, episodes=100) == collection

    def test_a_crash_mid_step_leaves_no_key(self, world_copy: Path, tmp_path: Path) -> None:
        step = CachedStep(tmp_path / "KEY.json", key(world_copy))
        step.record()
        step.forget()  # what the recipe does before rewriting the output
        assert CachedStep(tmp_path / "KEY.json", key(world_copy)).changed() == "no earlier run"
