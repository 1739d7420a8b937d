"""What an arm costs when its recommender comes in as a plugin, against the same code as a built-in.

The plugin is a module in a temporary folder whose classes subclass built-ins without changing them
(``sticky_artist``: stateless; ``custom``: per-session state), named by import path in the experiment file; and
the course's StickyArtist as a student writes it (``recommend_next`` on the course's Redis-like stores, pickled
tracks), served by the ``course`` recommender, against the built-in ``sticky_artist`` that answers the same. Two
measures per pair, alternated (built-in, plugin, built-in, plugin, ...) and the best of three runs kept: in-process
episodes per second, and the service's ``POST /next`` throughput with wrk. A ratio near 1.00 means the plugin
path adds nothing per request.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from pathlib import Path

from bench_service import LUA_NEXT, wrk
from botify.experiments import load_experiments
from botify.service.process import ServiceProcess
from botify.sim.agents import InProcessAgent
from botify.sim.world import load_sim_world
from botify.testing import random_report_artifacts

PLUGIN = '''
from botify.recommenders.baselines import StickyArtistRecommender
from botify.recommenders.custom import CustomRecommender


class MySticky(StickyArtistRecommender):
    """The built-in, unchanged, loaded by import path."""


class MyCustom(CustomRecommender):
    """The built-in, unchanged, loaded by import path."""
'''

COURSE_STICKY = '''
import random

from .recommender import Recommender


class StickyArtist(Recommender):
    def __init__(self, tracks_redis, artists_redis, catalog):
        self.tracks_redis = tracks_redis
        self.artists_redis = artists_redis
        self.catalog = catalog

    def recommend_next(self, user, prev_track, prev_track_time):
        track = self.catalog.from_bytes(self.tracks_redis.get(prev_track))
        artist_tracks = self.catalog.from_bytes(self.artists_redis.get(track.artist))
        return artist_tracks[random.randint(0, len(artist_tracks) - 1)]
'''

_REPORT = "{dssm: dssm, contextual: contextual}"
_COURSE = '{class: "course_sticky:StickyArtist", args: [tracks, artists, catalog]}'
# name: (built-in, its params, plugin, its params, in-process episodes: about two seconds of work each)
PAIRS = {
    "sticky_artist (stateless)": ("sticky_artist", "{}", "my_plugins:MySticky", "{}", 500_000),
    "custom (per-session state)": ("custom", _REPORT, "my_plugins:MyCustom", _REPORT, 25_000),
    "sticky_artist as course homework": ("sticky_artist", "{}", "course", _COURSE, 30_000),
}
ROUNDS = 3



def experiment(folder: Path, name: str, recommender: str, params: str) -> Path:
    path = folder / f"{name}.yml"
    path.write_text(f"seed: 3\nexperiments:\n  - name: BENCH\n    arms: [{{recommender: \"{recommender}\", "
                    f"params: {params}}}]\n")
    return path


def in_process_rate(world_dir: Path, plan_file: Path, artifacts: Path, episodes: int) -> float:
    world, plan = load_sim_world(world_dir), load_experiments(plan_file)
    agent = InProcessAgent(world, plan, artifacts=artifacts)
    started = time.perf_counter()
    agent.play(range(episodes), seed=1)
    return episodes / (time.perf_counter() - started)


def http_rate(world_dir: Path, plan_file: Path, artifacts: Path, work: Path, script: Path) -> float:
    with ServiceProcess(world_dir, config=plan_file, log_dir=work / "log", extra_args=["--artifacts", str(artifacts)],
                        ) as service:
        return wrk(service.url + "/next/1", 16, script, seconds=4)["rps"]


def run(world_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "my_plugins.py").write_text(textwrap.dedent(PLUGIN))
        (work / "course_sticky.py").write_text(COURSE_STICKY)
        world = load_sim_world(world_dir)
        artifacts = random_report_artifacts(world.catalog, world.n_users, work / "artifacts")
        script = work / "next.lua"
        script.write_text(LUA_NEXT)
        for title, (built_in, built_in_params, plugin, plugin_params, episodes) in PAIRS.items():
            files = {"built-in": experiment(work, "builtin", built_in, built_in_params),
                     "plugin": experiment(work, "plugin", plugin, plugin_params)}
            local: dict[str, float] = {"built-in": 0.0, "plugin": 0.0}
            served: dict[str, float] = {"built-in": 0.0, "plugin": 0.0}
            for _ in range(ROUNDS):
                for kind, plan_file in files.items():
                    local[kind] = max(local[kind], in_process_rate(world_dir, plan_file, artifacts, episodes))
                    served[kind] = max(served[kind], http_rate(world_dir, plan_file, artifacts, work, script))
            print(f"{title}: in-process {local['built-in']:,.0f} vs plugin {local['plugin']:,.0f} episodes/s "
                  f"(plugin/built-in {local['plugin'] / local['built-in']:.2f}); over HTTP "
                  f"{served['built-in']:,.0f} vs {served['plugin']:,.0f} requests/s "
                  f"({served['plugin'] / served['built-in']:.2f})")
