"""Library layers report progress through the caller's callback and draw nothing themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from botify.sim.agents import RandomAgent
from botify.sim.run import run_days
from botify.sim.world import SimWorld
from botify.train.als import ALS
from botify.train.contextual import Contextual
from botify.train.dataset import load_interactions
from botify.train.dssm import DSSM
from botify.world.catalog import Catalog


def test_models_report_each_epoch_to_the_callback_and_print_nothing(
        collection_logs: Path, catalog: Catalog, capfd: pytest.CaptureFixture[str]) -> None:
    data = load_interactions([collection_logs], catalog.n_tracks)[0]
    calls: list[tuple[str, int, int]] = []
    DSSM(catalog, dim=8, fixed_epochs=2, progress=lambda *call: calls.append(call)).fit(data)
    Contextual(catalog, dim=8, fixed_epochs=2, progress=lambda *call: calls.append(call)).fit(data)
    Contextual(catalog, dim=8, fixed_epochs=1).fit(data)  # no callback: silent
    ALS(catalog, factors=8, iterations=2).fit(data)  # nor the library ALS runs on
    assert calls == [("DSSM", 1, 2), ("DSSM", 2, 2), ("Contextual", 1, 2), ("Contextual", 2, 2)]
    assert capfd.readouterr() == ("", "")


def test_simulated_days_report_sessions_to_the_callback_and_print_nothing(
        sim_world: SimWorld, capfd: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[str, int, int]] = []
    run_days(RandomAgent(sim_world), episodes=300, days=2, seed=1, progress=lambda *call: calls.append(call))
    assert calls[-1] == ("day 1", 300, 300) and ("day 0", 300, 300) in calls
    assert all(done <= total for _, done, total in calls)
    assert capfd.readouterr() == ("", "")
