"""Homework written for the course — ``recommend_next`` on the course's objects — served by the lab unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import redis

from botify.artifacts import save_artifact
from botify.course.files import read_file, to_arrays
from botify.errors import PluginError
from botify.experiments import load_experiments
from botify.recommenders.registry import build_plan_recommenders
from botify.service.process import ServiceProcess, free_port
from botify.sim.agents import InProcessAgent, RemoteAgent
from botify.sim.world import SimWorld
from botify.world.catalog import Catalog

if TYPE_CHECKING:
    from botify.cluster.redis_server import RedisServer

STICKY = '''
import random

from .recommender import Recommender


class StickyArtist(Recommender):
    def __init__(self, tracks_redis, artists_redis, catalog):
        self.tracks_redis = tracks_redis
        self.artists_redis = artists_redis
        self.catalog = catalog

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        track_data = self.tracks_redis.get(prev_track)
        if track_data is not None:
            track = self.catalog.from_bytes(track_data)
        else:
            raise ValueError(f"Track not found: {prev_track}")

        artist_data = self.artists_redis.get(track.artist)
        if artist_data is not None:
            artist_tracks = self.catalog.from_bytes(artist_data)
        else:
            raise ValueError(f"Artist not found: {prev_track}")

        index = random.randint(0, len(artist_tracks) - 1)
        return artist_tracks[index]
'''

INDEXED = '''
import random

from .random import Random
from .recommender import Recommender


class Indexed(Recommender):
    def __init__(self, tracks_redis, recommendations_redis, catalog):
        self.recommendations_redis = recommendations_redis
        self.fallback = Random(tracks_redis)
        self.catalog = catalog

    def recommend_next(self, user: int, prev_track: int, prev_track_time: float) -> int:
        recommendations = self.recommendations_redis.get(user)
        if recommendations is not None:
            shuffled = list(self.catalog.from_bytes(recommendations))
            random.shuffle(shuffled)
            return shuffled[0]
        else:
            return self.fallback.recommend_next(user, prev_track, prev_track_time)
'''

BROKEN = '''
from .recommender import Recommender


class Raises(Recommender):
    def __init__(self, catalog):
        self.catalog = catalog

    def recommend_next(self, user, prev_track, prev_track_time):
        raise KeyError(prev_track)


class Text(Raises):
    def recommend_next(self, user, prev_track, prev_track_time):
        return str(prev_track)


class Outside(Raises):
    def recommend_next(self, user, prev_track, prev_track_time):
        return 10 ** 9
'''


def homework(folder: Path, catalog: Catalog) -> Path:
    """The student's folder: their two classes, a recommendations file for half the users, the experiment file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sticky.py").write_text(STICKY)
    (folder / "indexed.py").write_text(INDEXED)
    (folder / "broken.py").write_text(BROKEN)
    rng = np.random.default_rng(0)
    with (folder / "recommendations_ub.json").open("w") as handle:
        for user in range(0, 400, 2):
            handle.write(json.dumps({"user": user, "tracks": rng.choice(catalog.n_tracks, 10).tolist()}) + "\n")
    (folder / "experiment.yml").write_text("""seed: 5
experiments:
  - name: HOMEWORK
    arms:
      - random
      - recommender: course
        params: {class: "sticky:StickyArtist", args: [tracks, artists, catalog]}
      - recommender: course
        params:
          class: "indexed:Indexed"
          args: [tracks, recommendations, catalog]
          stores: {recommendations: {file: recommendations_ub.json}}
""")
    return folder / "experiment.yml"


def test_the_homework_serves_the_same_answers_in_process_and_over_http(world_dir: Path, sim_world: SimWorld,
                                                                      tmp_path: Path) -> None:
    plan = load_experiments(homework(tmp_path / "hw", sim_world.catalog))
    in_process = InProcessAgent(sim_world, plan).play(range(300), seed=2)
    again = InProcessAgent(sim_world, plan).play(range(300), seed=2)
    with ServiceProcess(world_dir, config=tmp_path / "hw" / "experiment.yml", log_dir=tmp_path / "log") as service:
        over_http = RemoteAgent(sim_world, service.url, concurrency=8).play(range(300), seed=2)
    for name in ("user", "tracks", "time"):
        np.testing.assert_array_equal(getattr(in_process, name), getattr(over_http, name), err_msg=name)
        np.testing.assert_array_equal(getattr(in_process, name), getattr(again, name), err_msg=name)


def test_the_course_objects_behave_as_the_course_says(sim_world: SimWorld, tmp_path: Path) -> None:
    plan = load_experiments(homework(tmp_path / "hw", sim_world.catalog))
    _, sticky, indexed = build_plan_recommenders(plan, sim_world.catalog)
    catalog = sim_world.catalog
    picks = [sticky.recommend(7, 11, 0.5, 0, step) for step in range(50)]
    assert {int(catalog.artist_id[p]) for p in picks} == {int(catalog.artist_id[11])}  # sticky: the same artist
    listed = {int(t) for line in (tmp_path / "hw" / "recommendations_ub.json").read_text().splitlines()
              for t in json.loads(line)["tracks"] if json.loads(line)["user"] == 4}
    assert {indexed.recommend(4, 0, 1.0, 0, step) for step in range(30)} <= listed  # a listed user: their list
    assert len({indexed.recommend(5, 0, 1.0, 0, step) for step in range(30)}) > 20  # an unlisted one: Random
    assert indexed.probability_one(4, 0, 1.0, 0, 0, 1) is None  # a course class states no policy


@pytest.mark.parametrize(("name", "message"), [
    ("broken:Raises", "KeyError"),
    ("broken:Text", "expected an int track id"),
    ("broken:Outside", "outside the catalog"),
    ("broken:Missing", "has no class 'Missing' with a recommend_next method"),
])
def test_a_bad_homework_class_fails_at_start_up_naming_the_arm(sim_world: SimWorld, tmp_path: Path, name: str,
                                                               message: str) -> None:
    homework(tmp_path / "hw", sim_world.catalog)
    (tmp_path / "hw" / "bad.yml").write_text(
        f"experiments:\n  - name: E\n    arms: [random, {{recommender: course, params: {{class: '{name}', "
        "args: [catalog]}}]\n")
    with pytest.raises(PluginError, match=rf"bad.yml: arm T1: .*{message}"):
        build_plan_recommenders(load_experiments(tmp_path / "hw" / "bad.yml"), sim_world.catalog)


def test_serve_refuses_a_bad_homework_with_one_line(world_dir: Path, sim_world: SimWorld, tmp_path: Path) -> None:
    homework(tmp_path / "hw", sim_world.catalog)
    (tmp_path / "hw" / "bad.yml").write_text(
        "experiments:\n  - name: E\n    arms: [random, {recommender: course, params: {class: 'broken:Text', "
        "args: [catalog]}}]\n")
    done = subprocess.run([sys.executable, "-m", "botify.cli", "serve", "--config", str(tmp_path / "hw" / "bad.yml"),
                           "--catalog", str(world_dir), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60)
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert done.returncode == 1 and len(errors) == 1 and "arm T1" in errors[0] and "expected an int" in errors[0]



def test_on_a_real_redis_the_stores_live_there_and_the_answers_are_the_same(
        world_dir: Path, sim_world: SimWorld, tmp_path: Path, redis_server: RedisServer) -> None:
    config = homework(tmp_path / "hw", sim_world.catalog)
    in_process = InProcessAgent(sim_world, load_experiments(config)).play(range(200), seed=4)
    with ServiceProcess(world_dir, config=config, log_dir=tmp_path / "log",
                        extra_args=["--state", redis_server.url]) as service:
        over_http = RemoteAgent(sim_world, service.url, concurrency=4).play(range(200), seed=4)
    np.testing.assert_array_equal(in_process.tracks, over_http.tracks)
    np.testing.assert_array_equal(in_process.time, over_http.time)
    client = redis.Redis.from_url(redis_server.url)
    assert client.exists(b"botify:course:tracks:11") and client.exists(b"botify:course:recommendations:4")
    assert not client.exists(b"botify:course:recommendations:5")  # odd users have no list


def test_the_demo_runs_a_homework_arm_end_to_end(world_dir: Path, sim_world: SimWorld, tmp_path: Path) -> None:
    config = homework(tmp_path / "hw", sim_world.catalog)
    done = subprocess.run([sys.executable, "-m", "botify.cli", "demo", "--world", str(world_dir), "--experiment",
                           str(config), "--collect-episodes", "2000", "--episodes", "1500", "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "run" / "report.md").read_text()
    assert "| T1 | mean_time_per_session |" in report and "| T2 | mean_time_per_session |" in report


def test_a_store_from_an_artifact_answers_as_the_file_it_was_imported_from(sim_world: SimWorld,
                                                                           tmp_path: Path) -> None:
    homework(tmp_path / "hw", sim_world.catalog)
    kind, content = read_file(tmp_path / "hw" / "recommendations_ub.json", sim_world.catalog.n_tracks)
    save_artifact(tmp_path / "artifacts", "ub", *to_arrays(kind, content, sim_world.catalog.n_tracks),
                  sim_world.catalog)
    arms = []
    for source in ("{file: recommendations_ub.json}", "{artifact: ub}"):
        (tmp_path / "hw" / "one.yml").write_text(
            "seed: 5\nexperiments:\n  - name: E\n    arms: [{recommender: course, params: {class: 'indexed:Indexed', "
            f"args: [tracks, recommendations, catalog], stores: {{recommendations: {source}}}}}}}]\n")
        arms += build_plan_recommenders(load_experiments(tmp_path / "hw" / "one.yml"), sim_world.catalog,
                                        artifacts=tmp_path / "artifacts")
    asked = [(user, step) for user in range(0, 40) for step in range(5)]
    assert [arms[0].recommend(u, 3, 1.0, 0, k) for u, k in asked] == [arms[1].recommend(u, 3, 1.0, 0, k)
                                                                       for u, k in asked]
