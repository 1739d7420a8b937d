"""``botify train my_module:MyTrainer``: a model plugin trained, evaluated and saved like a built-in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from botify.artifacts import load_artifact
from botify.experiments import ExperimentPlan
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld
from botify.world.catalog import Catalog

TRAINER = '''
"""A popularity-per-artist model: each user's most played artist's top tracks first."""
import numpy as np
from botify import Trainer


class ArtistPop(Trainer):
    """Top tracks of the user's most played artists."""

    name = "artist_pop"
    kind = "indexed"

    def __init__(self, catalog, *, random_state=0, k=30):
        super().__init__(catalog, random_state=random_state)
        self.k = k

    def fit(self, data):
        counts = np.bincount(data.track, minlength=self.catalog.n_tracks)
        self.ranking = np.lexsort((np.arange(len(counts)), -counts))
        self.users = np.unique(data.user)
        artist = self.catalog.artist_id[data.track]
        self.favourite = {}
        for user in self.users.tolist():
            mine = artist[data.user == user]
            self.favourite[user] = int(np.bincount(mine).argmax())

    def recommend(self, users, k):
        out = np.full((len(users), k), -1, dtype=np.int64)
        for row, user in enumerate(users.tolist()):
            fav = self.favourite.get(user)
            first = [t for t in self.ranking[:2000].tolist() if self.catalog.artist_id[t] == fav][:k]
            rest = [t for t in self.ranking[: 2 * k].tolist() if t not in first]
            out[row] = (first + rest)[:k]
        return out

    def export(self):
        return {"users": self.users.astype(np.int64),
                "items": self.recommend(self.users, self.k).astype(np.int32)}

    def parameters(self):
        return {"k": self.k}


class WrongShape(ArtistPop):
    name = "wrong_shape"

    def recommend(self, users, k):
        return np.zeros((len(users), k + 1), dtype=np.int64)


class BadExport(ArtistPop):
    name = "bad_export"

    def export(self):
        return {"lists": np.zeros((3, 3), dtype=np.int32)}


NOT_A_TRAINER = int
'''


def botify(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botify.cli", *args], capture_output=True, text=True, cwd=cwd,
                          check=False)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "my_models.py").write_text(textwrap.dedent(TRAINER))
    return tmp_path


class TestTrainerPlugins:
    def test_trains_evaluates_beside_toppop_and_serves_through_an_indexed_arm(
            self, project: Path, world_dir: Path, collection_logs: Path, catalog: Catalog,
            sim_world: SimWorld) -> None:
        done = botify("train", "my_models:ArtistPop", "--logs", str(collection_logs), "--world", str(world_dir),
                      "--out", "artifacts", "--params", '{"k": 40}', cwd=project)
        assert done.returncode == 0, done.stderr
        assert "artist_pop/v0001: recall@100" in done.stdout and "(TopPop " in done.stdout
        artifact = load_artifact(project / "artifacts", "artist_pop", catalog)
        assert artifact.kind == "indexed" and artifact.arrays["items"].shape[1] == 40
        manifest = json.loads((artifact.path / "manifest.json").read_text())
        assert manifest["plugin"] == "my_models:ArtistPop" and manifest["parameters"]["k"] == 40
        assert set(manifest["metrics"]) >= {"artist_pop", "toppop"}

        plan = ExperimentPlan.from_dict({"seed": 1, "experiments": [
            {"name": "X", "arms": [{"recommender": "indexed", "params": {"artifact": "artist_pop"}}]}]})
        sessions = InProcessAgent(sim_world, plan, artifacts=project / "artifacts").play(range(200), seed=3)
        assert len(sessions) == 200

    @pytest.mark.parametrize(("name", "params", "message"), [
        ("my_models:Missing", "{}", r"my_models.py has no attribute 'Missing'"),
        ("nowhere:Model", "{}", r"module 'nowhere' not found"),
        ("my_models:NOT_A_TRAINER", "{}", r"not a botify.Trainer subclass"),
        ("my_models:ArtistPop", '{"colour": 1}', r"rejects the parameters \{'colour': 1\}"),
        ("my_models:WrongShape", "{}", r"ranked \d+ users with shape \(\d+, 101\); expected \(\d+, 100\)"),
        ("my_models:BadExport", "{}", r"exported arrays that do not fit kind 'indexed'"),
        ("unheard_of", "{}", r"unknown trainer 'unheard_of'.*botify.trainers"),
    ])
    def test_a_bad_trainer_is_one_line_naming_it(self, project: Path, world_dir: Path, collection_logs: Path,
                                                 name: str, params: str, message: str) -> None:
        done = botify("train", name, "--logs", str(collection_logs), "--world", str(world_dir), "--out",
                      "artifacts", "--params", params, cwd=project)
        assert done.returncode == 1, done.stdout
        error = done.stderr.strip()
        assert len(error.splitlines()) == 1 and error.startswith("Error: ")
        assert re.search(message, error), error
        assert not (project / "artifacts" / "wrong_shape").exists()

    @pytest.mark.parametrize(("name", "params", "message"), [
        ("my_models:Missing", "{}", r"has no attribute 'Missing'"),
        ("my_models:NOT_A_TRAINER", "{}", r"not a botify.Trainer subclass"),
        ("my_models:ArtistPop", '{"colour": 1}', r"rejects the parameters"),
        ("unheard_of", "{}", r"unknown trainer 'unheard_of'"),
    ])
    def test_a_bad_trainer_is_refused_before_any_log_is_read(self, project: Path, world_dir: Path, name: str,
                                                             params: str, message: str) -> None:
        (project / "no-logs-here").mkdir(exist_ok=True)  # reading it would fail with "no log files"
        done = botify("train", name, "--logs", "no-logs-here", "--world", str(world_dir), "--out", "artifacts",
                      "--params", params, cwd=project)
        assert done.returncode == 1 and re.search(message, done.stderr), done.stderr
        assert "no log files" not in done.stderr
