"""Fitting a world to logs, as a user calls it: `botify world fit`, then the fitted world played like any other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import pearsonr

from botify.cli import main
from botify.experiments import BUNDLED, ExperimentPlan, load_experiments
from botify.fit import FitSettings, fit_world, read_fit_data
from botify.fit.budget import fit_budget
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld, load_sim_world

EPOCHS = "10"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


EXPLORATION_MIXTURE = ExperimentPlan.from_dict({"seed": 4, "experiments": [{"name": "LOG", "arms": [
    {"recommender": "mixture", "params": {"components": [{"recommender": "random", "weight": 0.3},
                                                         {"recommender": "sticky_artist", "weight": 0.5},
                                                         {"recommender": "toppop", "weight": 0.2}]}}]}]})


@pytest.fixture(scope="module")
def fit_logs(sim_world: SimWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50 sessions per user of the small world, each request answered by a mixture of three baselines.

    A mixture per request, not a split of users: a user who only ever hears random tracks listens to almost none
    of them, and their bias and sharpness are then barely identifiable (the exploration split leaves a third of
    the users so; their correlation is what drags a split's recovery down).
    """
    plan = EXPLORATION_MIXTURE
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, log=log).play(range(20_000), seed=3)
    return log.write(tmp_path_factory.mktemp("fit-logs"))


@pytest.fixture(scope="module")
def fitted_dir(fit_logs: Path, world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fitted") / "world"
    code, output = run("world", "fit", str(fit_logs), "--catalog", str(world_dir), "--out", str(out),
                       "--epochs", EPOCHS)
    assert code == 0, output
    assert "held-out log-likelihood per recommendation" in output
    return out


class TestRecovery:
    def test_bias_and_sharpness_correlate_with_the_truth(self, fitted_dir: Path, sim_world: SimWorld) -> None:
        fitted = load_sim_world(fitted_dir)
        true, fit = sim_world.truth, fitted.truth
        assert fit.n_users == true.n_users  # every user of the small world is in two days of logs
        bias = pearsonr(true.consume_bias, fit.consume_bias).statistic
        sharpness = pearsonr(np.log(true.consume_sharpness), np.log(fit.consume_sharpness)).statistic
        assert bias > 0.75, bias  # measured 0.85 (10 epochs)
        assert sharpness > 0.75, sharpness  # measured 0.86

    def test_budget_and_discount_are_the_worlds(self, fitted_dir: Path) -> None:
        truth = load_sim_world(fitted_dir).truth
        assert set(truth.session_budget.tolist()) == {5}
        assert truth.artist_discount_gamma[0] == pytest.approx(0.8, abs=0.01)

    def test_the_budget_likelihood_peaks_at_the_true_budget(self, fit_logs: Path, sim_world: SimWorld) -> None:
        fitted = fit_budget(read_fit_data([fit_logs], sim_world.catalog))
        assert fitted.budget == 5
        assert np.argmax(fitted.log_likelihood) == 4

    def test_the_fit_predicts_later_sessions_better_than_the_baseline(self, fit_logs: Path,
                                                                      sim_world: SimWorld) -> None:
        data = read_fit_data([fit_logs], sim_world.catalog)
        diagnostics = fit_world(data, sim_world.catalog, FitSettings(epochs=3)).diagnostics
        assert diagnostics.log_likelihood > diagnostics.baseline_log_likelihood
        assert diagnostics.mean_absolute_error < diagnostics.baseline_mean_absolute_error


class TestFittedWorld:
    def test_the_manifest_records_the_logs_and_the_settings(self, fitted_dir: Path, world_dir: Path) -> None:
        manifest = json.loads((fitted_dir / "truth" / "manifest.json").read_text())
        assert manifest["fitted"] is True
        assert manifest["settings"]["epochs"] == int(EPOCHS)
        assert len(manifest["logs"]["sha256"]) == 64 and manifest["logs"]["sessions"] == 20_000
        copied, original = (d / "catalog" / "tracks.parquet" for d in (fitted_dir, world_dir))
        assert copied.read_bytes() == original.read_bytes()

    def test_same_seed_same_sessions(self, fitted_dir: Path) -> None:
        world = load_sim_world(fitted_dir)
        plan = load_experiments(BUNDLED / "exploration.yml")
        first = InProcessAgent(world, plan).play(range(2000), seed=5)
        again = InProcessAgent(load_sim_world(fitted_dir), plan).play(range(2000), seed=5)
        assert np.array_equal(first.time, again.time) and np.array_equal(first.user, again.user)
        assert np.array_equal(first.tracks, again.tracks)

    def test_sim_run_accepts_it(self, fitted_dir: Path) -> None:
        code, output = run("sim", "run", "--world", str(fitted_dir), "--episodes", "300", "--seed", "2")
        assert code == 0, output
        assert "session time" in output


class TestBadLogs:
    def _fit(self, logs: Path, catalog: Path, out: Path) -> tuple[int, str]:
        return run("world", "fit", str(logs), "--catalog", str(catalog), "--out", str(out), "--epochs", "1")

    def test_empty_logs(self, world_dir: Path, tmp_path: Path) -> None:
        (tmp_path / "data.json").write_text("")
        code, output = self._fit(tmp_path / "data.json", world_dir, tmp_path / "out")
        assert code == 2 and "no usable log lines to fit a world from" in output
        assert not (tmp_path / "out").exists()

    def test_logs_without_next_lines(self, world_dir: Path, tmp_path: Path) -> None:
        line = {"message": "last", "timestamp": 1, "user": 3, "track": 5, "time": 0.5, "latency": 0.001,
                "recommendation": None, "experiments": {}}
        (tmp_path / "data.json").write_text(json.dumps(line) + "\n")
        code, output = self._fit(tmp_path / "data.json", world_dir, tmp_path / "out")
        assert code == 2 and "the logs have no `next` lines" in output
        assert not (tmp_path / "out").exists()

    def test_a_catalog_that_does_not_match_the_logs(self, fit_logs: Path, tmp_path: Path) -> None:
        from botify.world.config import WorldConfig
        from botify.world.generate import write_world

        smaller = tmp_path / "smaller"
        write_world(smaller, WorldConfig(n_tracks=500, n_users=10), seed=1)
        code, output = self._fit(fit_logs, smaller, tmp_path / "out")
        assert code == 2 and "outside the catalog's 0..499" in output and "`--catalog`" in output
        assert not (tmp_path / "out").exists()

    def test_malformed_lines_are_reported_not_fitted(self, fit_logs: Path, world_dir: Path, tmp_path: Path) -> None:
        logs = tmp_path / "logs"
        logs.mkdir()
        (logs / "data.json").write_bytes(fit_logs.read_bytes() + b"{not json\n")
        code, output = self._fit(logs, world_dir, tmp_path / "out")
        assert code == 0, output
        assert "malformed lines: 1" in output

    def test_an_existing_world_is_not_overwritten(self, fit_logs: Path, world_dir: Path, tmp_path: Path) -> None:
        out = tmp_path / "out"
        out.mkdir()
        (out / "keep.txt").write_text("mine")
        code, output = self._fit(fit_logs, world_dir, out)
        assert code == 2 and "exists and is not empty" in output
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_same_logs_and_seed_give_the_same_world(fit_logs: Path, sim_world: SimWorld) -> None:
    data = read_fit_data([fit_logs], sim_world.catalog)
    quick = FitSettings(epochs=2, regroup_epochs=1, refit_epochs=1)
    first, again = (fit_world(data, sim_world.catalog, quick).truth for _ in range(2))
    assert np.array_equal(first.embeddings, again.embeddings)
    assert np.array_equal(first.consume_bias, again.consume_bias) and np.array_equal(first.interests, again.interests)
    other = fit_world(data, sim_world.catalog, FitSettings(epochs=2, regroup_epochs=1, refit_epochs=1, seed=1)).truth
    assert not np.array_equal(first.embeddings, other.embeddings)


def test_the_courses_log_format_reads_the_same_sessions(fit_logs: Path, sim_world: SimWorld, tmp_path: Path) -> None:
    """The course's service writes only the reference fields: sessions are then cut in timestamp order."""
    course = [{k: v for k, v in json.loads(line).items()
               if k in ("message", "timestamp", "user", "track", "time", "latency", "recommendation", "experiments")}
              for line in fit_logs.read_text().splitlines()]
    assert "session" not in course[0] and "propensity" not in course[0]
    (tmp_path / "data.json").write_text("".join(json.dumps(record) + "\n" for record in course))
    ours, theirs = read_fit_data([fit_logs], sim_world.catalog), read_fit_data([tmp_path], sim_world.catalog)
    for name in ("session_user", "session_first", "session_length", "row_track", "row_time", "row_artist_count"):
        assert np.array_equal(getattr(ours, name), getattr(theirs, name)), name
