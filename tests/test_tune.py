"""``botify tune custom`` on a small world: the search table, the best pair, the confirmation day."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from botify.recipes.tune import REPORT_PAIR, TuneOptions, run_tune
from botify.sim.world import SimWorld


class TestTune:
    def test_search_then_confirmation(self, sim_world: SimWorld, model_artifacts: Path) -> None:
        console = Console(record=True, width=200)
        result = run_tune(sim_world, TuneOptions(artifacts=model_artifacts, trials=4, seed=3, search_episodes=300,
                                                 confirm_episodes=600), console)
        numbers = [number for number, *_ in result.trials]
        assert sorted(numbers) == [0, 1, 2, 3]
        report_trial = next(row for row in result.trials if row[0] == 0)
        assert report_trial[1:3] == REPORT_PAIR  # the report's pair is always tried first
        values = [value for *_, value in result.trials]
        assert values == sorted(values, reverse=True) and result.best == (round(result.trials[0][1], 3),
                                                                          round(result.trials[0][2], 3))
        assert {row.treatment for row in result.confirmation} == {"T1", "T2", "T3"}
        text = console.export_text()
        assert "search: 4 trials" in text and "confirmation day" in text and "T3 = session" in text

    def test_same_seed_same_search(self, sim_world: SimWorld, model_artifacts: Path) -> None:
        options = TuneOptions(artifacts=model_artifacts, trials=3, seed=5, search_episodes=200, confirm_episodes=200)
        first = run_tune(sim_world, options, Console(file=None, quiet=True))
        again = run_tune(sim_world, options, Console(file=None, quiet=True))
        assert first.trials == again.trials and first.best == again.best
