"""``botify world import-reference``: the course's files in, a world out; export → import changes nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from botify.experiments import BUNDLED, load_experiments
from botify.sim.agents import InProcessAgent
from botify.sim.world import load_sim_world
from botify.world.catalog import load_catalog
from botify.world.reference import export_reference
from botify.world.truth import load_truth


@pytest.fixture(scope="module")
def course_files(world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("course")
    export_reference(world_dir, out)
    return out


def botify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botify.cli", *args], capture_output=True, text=True, check=False)


def copy_with(course_files: Path, target: Path, name: str, lines: list[str] | None = None,
              array: np.ndarray | None = None) -> Path:
    """A copy of the course files with ``name`` replaced."""
    target.mkdir()
    for file in ("tracks.json", "tracks.npy", "users.json"):
        (target / file).write_bytes((course_files / file).read_bytes())
    if lines is not None:
        (target / name).write_text("\n".join(lines) + "\n")
    if array is not None:
        np.save(target / name, array)
    return target


class TestRoundTrip:
    def test_export_then_import_gives_the_same_world_and_the_same_sessions(
            self, world_dir: Path, course_files: Path, tmp_path: Path) -> None:
        done = botify("world", "import-reference", str(course_files), "--out", str(tmp_path / "imported"))
        assert done.returncode == 0, done.stderr
        assert "400 users" in done.stdout
        original, imported = load_truth(world_dir), load_truth(tmp_path / "imported")
        for field in ("embeddings", "interests", "interest_nearest", "interest_neighbours", "consume_bias",
                      "consume_sharpness", "session_budget", "artist_discount_gamma"):
            assert np.array_equal(getattr(original, field), getattr(imported, field)), field
        before, after = load_catalog(world_dir), load_catalog(tmp_path / "imported")
        assert np.array_equal(before.artist_id, after.artist_id) and before.title == after.title
        assert np.array_equal(before.popularity, after.popularity) and np.array_equal(before.genre_id, after.genre_id)

        plan = load_experiments(BUNDLED / "calibration.yml")
        sessions = [InProcessAgent(load_sim_world(w), plan).play(range(2000), seed=5)
                    for w in (world_dir, tmp_path / "imported")]
        assert np.array_equal(sessions[0].time, sessions[1].time)
        assert np.array_equal(sessions[0].tracks, sessions[1].tracks)

    def test_course_users_without_the_optional_fields_take_the_courses_defaults(
            self, course_files: Path, tmp_path: Path) -> None:
        users = [json.loads(line) for line in (course_files / "users.json").read_text().splitlines()]
        bare = [json.dumps({k: u[k] for k in ("user", "interests", "consume_bias", "consume_sharpness")})
                for u in users]
        source = copy_with(course_files, tmp_path / "course", "users.json", bare)
        tracks = [json.loads(line) for line in (course_files / "tracks.json").read_text().splitlines()]
        (source / "tracks.json").write_text("".join(json.dumps({k: t[k] for k in ("track", "artist", "title")})
                                                    + "\n" for t in tracks))
        done = botify("world", "import-reference", str(source), "--out", str(tmp_path / "world"))
        assert done.returncode == 0, done.stderr
        truth = load_truth(tmp_path / "world")
        assert set(truth.interest_neighbours.tolist()) == {10}
        assert set(truth.session_budget.tolist()) == {5}
        assert set(truth.artist_discount_gamma.tolist()) == {0.8}
        catalog = load_catalog(tmp_path / "world")
        assert catalog.genre_names == ["unknown"] and set(catalog.popularity.tolist()) == {1.0}


def bad_user(course_files: Path, **change: object) -> list[str]:
    lines = (course_files / "users.json").read_text().splitlines()
    first = json.loads(lines[1])
    first.update(change)
    return [lines[0], json.dumps(first), *lines[2:]]


class TestBadFiles:
    @pytest.mark.parametrize(("name", "make", "message"), [
        ("users.json", lambda c: bad_user(c, interests=[0, 1, 10**6]),
         r"users.json:2: interest 1000000 is not a track of the catalog"),
        ("users.json", lambda c: bad_user(c, user=7),
         r"users.json:\d+: user 7 repeats line"),
        ("users.json", lambda c: bad_user(c, consume_bias="high"),
         r"users.json:2: 'consume_bias' must be float"),
        ("users.json", lambda c: [*bad_user(c)[:5], "{not json"],
         r"users.json:6: not valid JSON"),
        ("users.json", lambda c: bad_user(c, session_budget=0),
         r"users.json:2: 'session_budget' must be >= 1"),
        ("tracks.json", lambda c: [json.dumps({"track": 5000, "artist": "a", "title": "t"}),
                                   *(c / "tracks.json").read_text().splitlines()[1:]],
         r"tracks.json:1: track 5000 outside 0..2999"),
        ("tracks.json", lambda c: ["[1, 2, 3]", *(c / "tracks.json").read_text().splitlines()[1:]],
         r"tracks.json:1: expected a JSON object, got list"),
    ])
    def test_bad_json_is_named_by_file_and_line_and_nothing_is_written(
            self, course_files: Path, tmp_path: Path, name: str, make: object, message: str) -> None:
        source = copy_with(course_files, tmp_path / "course", name, make(course_files))  # type: ignore[operator]
        done = botify("world", "import-reference", str(source), "--out", str(tmp_path / "world"))
        assert done.returncode == 1, done.stdout
        assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("Error: ")
        assert f"{source / name}" in done.stderr
        assert re.search(message, done.stderr), done.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]  # no world, no leftover staging folder

    @pytest.mark.parametrize(("array", "message"), [
        (np.zeros((10, 32), np.float32), r"tracks.npy: 10 embedding rows, but tracks.json has 3000 tracks"),
        (np.full((3000, 32), np.nan, np.float32), r"tracks.npy: row 0 \(track 0\) holds NaN or inf"),
        (np.zeros(3000, np.float32), r"tracks.npy: expected a 2-d float array"),
    ])
    def test_bad_embeddings(self, course_files: Path, tmp_path: Path, array: np.ndarray, message: str) -> None:
        source = copy_with(course_files, tmp_path / "course", "tracks.npy", array=array)
        done = botify("world", "import-reference", str(source), "--out", str(tmp_path / "world"))
        assert done.returncode == 1
        assert re.search(message, done.stderr), done.stderr
        assert not (tmp_path / "world").exists()

    def test_an_existing_world_is_never_overwritten(self, course_files: Path, tmp_path: Path) -> None:
        (tmp_path / "world").mkdir()
        done = botify("world", "import-reference", str(course_files), "--out", str(tmp_path / "world"))
        assert done.returncode == 1 and "already exists" in done.stderr
