"""Your own recommender in an experiment file, by import path: served like a built-in, refused at start-up if bad."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import numpy as np
import pytest

from botify.experiments import load_experiments
from botify.recommenders.plugins import PluginError
from botify.service.process import ServiceProcess, free_port
from botify.sim.agents import InProcessAgent, RemoteAgent
from botify.sim.world import SimWorld

PLUGIN = '''
"""A tiny recommender: the next track id, wrapping around the catalog."""
import numpy as np
from botify import Recommender, Requests



class NextId(Recommender):
    name = "next_id"

    def __init__(self, catalog, *, random_state=None, step=1):
        super().__init__(catalog, random_state=random_state)
        if step < 1:
            raise ValueError(f"`step` must be >= 1, got {step}")
        self.step = step

    def recommend_batch(self, requests: Requests) -> np.ndarray:
        return (requests.track + self.step) % self.catalog.n_tracks


class WrongShape(NextId):
    def recommend_batch(self, requests):
        return np.zeros(len(requests) + 1, dtype=np.int64)


class Floats(NextId):
    def recommend_batch(self, requests):
        return np.full(len(requests), 0.5)


class Outside(NextId):
    def recommend_batch(self, requests):
        return np.full(len(requests), 10**9, dtype=np.int64)


NOT_A_CLASS = 42
'''


def refused(command: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run a command that must refuse to start: a service that starts instead fails the test, by assertion."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"started instead of refusing (killed after {timeout:.0f} s):\n{stderr}") from None
    assert process.returncode != 0, f"exited with 0 instead of refusing:\n{stdout}{stderr}"
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

def experiment(folder: Path, recommender: str, params: str = "{}") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_recs.py").write_text(PLUGIN)
    path = folder / "experiment.yml"
    path.write_text(textwrap.dedent(f"""
        seed: 1
        experiments:
          - name: MINE
            arms: [random, {{recommender: "{recommender}", params: {params}}}]
    """))
    return path


class TestImportPathPlugins:
    def test_a_plugin_next_to_the_experiment_file_serves_in_process_and_over_http(
            self, sim_world: SimWorld, world_dir: Path, tmp_path: Path) -> None:
        config = experiment(tmp_path / "lab", "my_recs:NextId", "{step: 2}")
        plan = load_experiments(config)
        in_process = InProcessAgent(sim_world, plan).play(range(200), seed=3)
        with ServiceProcess(world_dir, config=config, log_dir=tmp_path / "log") as service:
            user = next(u for u in range(100) if plan.routing.assign(u) == 1)
            answer = httpx.post(f"{service.url}/next/{user}", json={"track": 7, "time": 1.0}).json()
            assert answer["track"] == 9
            over_http = RemoteAgent(sim_world, service.url, concurrency=4).play(range(200, 400), seed=3)
        assert len(in_process.user) == len(over_http.user) == 200

    @pytest.mark.parametrize(("recommender", "params", "message"), [
        ("no_such_module:X", "{}", "module 'no_such_module' not found (looked in"),
        ("my_recs:Missing", "{}", "has no attribute 'Missing'"),
        ("my_recs:NOT_A_CLASS", "{}", "is 42, not a botify.Recommender subclass"),
        ("my_recs:NextId", "{step: 0}", "refused its parameters {'step': 0}: ValueError: `step` must be >= 1"),
        ("my_recs:NextId", "{colour: red}", "bad parameters {'colour': 'red'}"),
        ("my_recs:WrongShape", "{}", "answered a batch of 8 requests with shape (9,)"),
        ("my_recs:Floats", "{}", "answered with float64 values; expected integer track ids"),
        ("my_recs:Outside", "{}", "answered 9 of 9 probe requests with tracks outside the catalog 0..2999, e.g. "
                                  "1000000000"),
        ("nobody_registered_this", "{}", "unknown recommender 'nobody_registered_this'"),
    ])
    def test_a_bad_plugin_stops_serve_before_anything_is_served_or_logged(
            self, world_dir: Path, tmp_path: Path, recommender: str, params: str, message: str) -> None:
        config = experiment(tmp_path / "lab", recommender, params)
        done = refused([sys.executable, "-m", "botify.cli", "serve", "--config", str(config), "--catalog",
                        str(world_dir), "--port", str(free_port()), "--log-dir", str(tmp_path / "log")])
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and message in errors[0] and "Traceback" not in done.stderr, done.stderr
        assert f"{config.resolve()}: arm T1: " in errors[0]  # names the file and the arm
        assert not (tmp_path / "log" / "data.json").exists()

    def test_several_workers_refuse_before_forking(self, world_dir: Path, tmp_path: Path) -> None:
        config = experiment(tmp_path / "lab", "my_recs:Floats")
        done = refused([sys.executable, "-m", "botify.cli", "serve", "--config", str(config), "--catalog",
                        str(world_dir), "--port", str(free_port()), "--workers", "2", "--log-dir",
                        str(tmp_path / "log")])
        assert done.returncode == 1 and "expected integer track ids" in done.stderr
        assert not (tmp_path / "log").exists()

    @pytest.mark.parametrize(("recommender", "message"), [
        ("my_recs:WrongShape", "answered a batch of 8 requests with shape"),
        ("my_recs:Floats", "expected integer track ids"),
        ("my_recs:Outside", "outside the catalog"),
    ])
    def test_the_probe_refuses_the_same_plugins_in_process(self, sim_world: SimWorld, tmp_path: Path,
                                                           recommender: str, message: str) -> None:
        plan = load_experiments(experiment(tmp_path / "lab", recommender))
        with pytest.raises(PluginError, match=rf"experiment.yml: arm T1: recommender '{recommender}'.*{message}"):
            InProcessAgent(sim_world, plan)

    def test_the_experiment_folder_comes_before_sys_path(self, tmp_path: Path) -> None:
        plan = load_experiments(experiment(tmp_path / "lab", "my_recs:NextId"))
        assert plan.directory == (tmp_path / "lab").resolve()
        assert np.__name__ == "numpy"  # the plugin's own imports resolve as usual


class TestDemoRefusesABadPlugin:
    def test_demo_stops_before_the_collection_day(self, world_dir: Path, tmp_path: Path) -> None:
        config = experiment(tmp_path / "lab", "my_recs:Missing")
        done = subprocess.run([sys.executable, "-m", "botify.cli", "demo", "--world", str(world_dir), "--experiment",
                               str(config), "--out", str(tmp_path / "run")], capture_output=True, text=True,
                              timeout=60)
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert done.returncode != 0 and len(errors) == 1 and "has no attribute 'Missing'" in errors[0], done.stderr
        assert not (tmp_path / "run" / "collect").exists()


class TestEntryPointPlugins:
    def test_a_pip_installed_package_is_found_by_name(self, world_dir: Path, collection_logs: Path,
                                                      tmp_path: Path) -> None:
        package = tmp_path / "pkg"
        (package / "botify_echo").mkdir(parents=True)
        (package / "pyproject.toml").write_text(textwrap.dedent("""
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "botify-echo"
            version = "0.0.1"

            [project.entry-points."botify.recommenders"]
            echo = "botify_echo:Echo"

            [project.entry-points."botify.trainers"]
            plays = "botify_echo:Plays"
        """))
        (package / "botify_echo" / "__init__.py").write_text(textwrap.dedent("""
            from botify.recommenders.base import Recommender


            class Echo(Recommender):
                name = "echo"

                def recommend_batch(self, requests):
                    return (requests.track + 1) % self.catalog.n_tracks


            import numpy as np
            from botify import Trainer


            class Plays(Trainer):
                name = "plays"
                kind = "popularity"

                def fit(self, data):
                    self.counts = np.bincount(data.track, minlength=self.catalog.n_tracks).astype(np.float64)

                def recommend(self, users, k):
                    return np.tile(np.argsort(-self.counts, kind="stable")[:k], (len(users), 1))

                def export(self):
                    return {"popularity": self.counts}
        """))
        site = tmp_path / "site"
        installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                                    "--target", str(site), str(package)], capture_output=True, text=True, timeout=120)
        assert installed.returncode == 0, installed.stderr
        config = tmp_path / "experiment.yml"
        config.write_text("experiments:\n  - name: E\n    arms: [echo]\n")
        env = {**os.environ, "PYTHONPATH": str(site)}  # as if pip-installed into this environment
        with ServiceProcess(world_dir, config=config, log_dir=tmp_path / "log", env=env) as service:
            answer = httpx.post(f"{service.url}/next/3", json={"track": 41, "time": 1.0})
        assert answer.status_code == 200 and answer.json()["track"] == 42
        trained = subprocess.run([sys.executable, "-m", "botify.cli", "train", "plays", "--logs", str(collection_logs),
                                  "--world", str(world_dir), "--out", str(tmp_path / "artifacts")],
                                 capture_output=True, text=True, env=env, timeout=300)
        assert trained.returncode == 0, trained.stderr
        assert "plays/v0001: recall@100" in trained.stdout
