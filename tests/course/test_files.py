"""The course's files become the lab's artifacts and back, every id kept; a bad file is refused with file:line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from botify.artifacts import load_artifact
from botify.cli import main
from botify.world.catalog import Catalog


def course_files(folder: Path, n_tracks: int) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "recommendations_ub.json"
    users.write_text("".join(json.dumps({"user": u, "tracks": [(u * 7 + k) % n_tracks for k in range(u % 5 + 1)]})
                             + "\n" for u in range(0, 300, 3)))
    per_track = folder / "tracks_with_recs.json"
    per_track.write_text("".join(json.dumps({"track": t, "recommendations": [(t + k) % n_tracks for k in (1, 2, 3)]})
                                 + "\n" for t in range(0, n_tracks, 10)))
    top = folder / "top_tracks.json"
    top.write_text(json.dumps([5, 17, 2, 999, 40]))
    return {"recommendations_ub": users, "tracks_with_recs": per_track, "top_tracks": top}


def read_course(path: Path) -> object:
    text = path.read_text()
    if text.lstrip().startswith("["):
        return json.loads(text)
    return sorted(map(json.loads, text.splitlines()), key=lambda record: sorted(record.items())[0][1])


def cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_import_export_import_keeps_every_id(world_dir: Path, catalog: Catalog, tmp_path: Path) -> None:
    files = course_files(tmp_path / "course", catalog.n_tracks)
    done = cli("artifacts", "import-reference", *map(str, files.values()), "--catalog", str(world_dir), "--out",
               str(tmp_path / "artifacts"))
    assert done.exit_code == 0, done.output
    kinds = {name: load_artifact(tmp_path / "artifacts", name, catalog).kind for name in files}
    assert kinds == {"recommendations_ub": "indexed", "tracks_with_recs": "item_lists", "top_tracks": "popularity"}
    exported = cli("artifacts", "export-reference", *files, "--artifacts", str(tmp_path / "artifacts"), "--catalog",
                   str(world_dir), "--out", str(tmp_path / "exported"))
    assert exported.exit_code == 0, exported.output
    for name, original in files.items():
        assert read_course(tmp_path / "exported" / f"{name}.json") == read_course(original), name
    again = cli("artifacts", "import-reference", *(str(tmp_path / "exported" / f"{n}.json") for n in files),
                "--catalog", str(world_dir), "--out", str(tmp_path / "again"))
    assert again.exit_code == 0, again.output
    for name in files:
        first = load_artifact(tmp_path / "artifacts", name, catalog).manifest["content_hash"]
        assert load_artifact(tmp_path / "again", name, catalog).manifest["content_hash"] == first


@pytest.mark.parametrize(("name", "text", "message"), [
    ("recommendations_a.json", '{"user": 1, "tracks": [1, 2]}\n{"user": 2, "tracks": [3, 999999]}\n',
     r"recommendations_a.json:2: track 999999 is outside the catalog 0..2999"),
    ("recommendations_b.json", '{"user": 1, "tracks": [1]}\n\n{"user": 1, "tracks": [2]}\n',
     r"recommendations_b.json:3: user 1 again \(first on line 1\)"),
    ("recommendations_c.json", '{"user": 1, "tracks": [1]}\n{"user": 2, "tracks": [1\n',
     r"recommendations_c.json:2: not JSON"),
    ("tracks_d.json", '{"track": 4, "recommendations": [1]}\n{"track": -1, "recommendations": [2]}\n',
     r"tracks_d.json:2: 'track' must be a non-negative integer, got -1"),
    ("top_tracks.json", "[1, 2, 2]\n", r"top_tracks.json:1: track 2 is listed twice"),
    ("other.json", '{"song": 1}\n', r"other.json:1: not a course file"),
])
def test_a_malformed_file_is_refused_with_its_line_and_nothing_is_written(
        world_dir: Path, catalog: Catalog, tmp_path: Path, name: str, text: str, message: str) -> None:
    good = course_files(tmp_path / "course", catalog.n_tracks)["recommendations_ub"]
    bad = tmp_path / "course" / name
    bad.write_text(text)
    done = CliRunner().invoke(main, ["artifacts", "import-reference", str(good), str(bad), "--catalog",
                                     str(world_dir), "--out", str(tmp_path / "artifacts")])
    assert done.exit_code != 0 and re.search(message, done.output), done.output
    assert not (tmp_path / "artifacts").exists()  # the good file before it was not written either
