"""Models trained side by side in their own processes are the same bits as trained one after the other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from botify.artifacts import load_artifact
from botify.errors import ConfigError
from botify.train.dataset import load_interactions
from botify.train.parallel import FIT_THREADS, train_side_by_side
from botify.world.catalog import Catalog


class TestSideBySide:
    def test_same_artifacts_as_one_after_the_other(self, collection_logs: Path, world_dir: Path, catalog: Catalog,
                                                   tmp_path: Path) -> None:
        data, report = load_interactions([collection_logs], catalog.n_tracks)
        names = ["dssm", "contextual", "toppop"]
        finished: dict[str, list[str]] = {"side by side": [], "in turn": []}
        for how, processes in (("side by side", 2), ("in turn", 1)):
            train_side_by_side(names, world_dir, data, tmp_path / how, seed=5, report=report, processes=processes,
                               on_trained=lambda name, summary: finished[how].append(name))  # noqa: B023 - called now
        assert sorted(finished["side by side"]) == sorted(finished["in turn"]) == sorted(names)
        for name in names:
            pair = [load_artifact(tmp_path / how, name, catalog) for how in finished]
            assert pair[0].manifest["content_hash"] == pair[1].manifest["content_hash"], name
            assert pair[0].manifest["logs"]["lines"] == report.lines
            if name != "toppop":
                assert pair[0].manifest["parameters"]["threads"] == FIT_THREADS

    def test_a_failing_fit_stops_the_run_with_its_error(self, world_dir: Path, catalog: Catalog,
                                                        collection_logs: Path, tmp_path: Path) -> None:
        data, _ = load_interactions([collection_logs], catalog.n_tracks)
        with pytest.raises(ConfigError, match="unknown model 'nope'"):
            train_side_by_side(["toppop", "nope"], world_dir, data, tmp_path, seed=5, processes=2)

    def test_killing_the_run_stops_its_fits(self, collection_logs: Path, world_dir: Path, tmp_path: Path) -> None:
        """A killed ``botify demo`` leaves no training process behind (they would train on for a minute)."""
        script = (
            "import sys; from pathlib import Path\n"
            "from botify.train.dataset import load_interactions\n"
            "from botify.train.parallel import train_side_by_side\n"
            "from botify.world.catalog import load_catalog\n"
            f"catalog = load_catalog({str(world_dir)!r})\n"
            f"data, _ = load_interactions([Path({str(collection_logs)!r})], catalog.n_tracks)\n"
            f"train_side_by_side(['dssm', 'contextual'], Path({str(world_dir)!r}), data, Path({str(tmp_path)!r}), "
            "seed=5, processes=2)\n"
        )
        run = subprocess.Popen([sys.executable, "-c", script])
        try:
            deadline = time.monotonic() + 60
            while len(workers := children(run.pid)) < 2:
                assert time.monotonic() < deadline and run.poll() is None, "the workers never started"
                time.sleep(0.1)
            time.sleep(1.0)  # the fits are under way
            run.kill()
            assert run.wait(10) == -signal.SIGKILL  # the fault happened: the run died without cleaning up
            deadline = time.monotonic() + 5
            while alive := [pid for pid in workers if Path(f"/proc/{pid}").exists() and not zombie(pid)]:
                assert time.monotonic() < deadline, f"workers {alive} outlived the killed run"
                time.sleep(0.1)
        finally:
            run.kill()
            for pid in children(run.pid):
                os.kill(pid, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """Worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(pid), "-f", "spawn_main"], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return False
