"""Models trained side by side in their own processes are the same bits as trained one after the other."""

from __future__ import annotations

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
