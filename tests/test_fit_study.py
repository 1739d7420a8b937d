"""``botify fit study`` on a small world: the truth and the prediction are the arms' own runs in T and in F."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from botify.ab.metrics import user_metrics
from botify.fit import FitSettings
from botify.fit.world_fit import logs_digest
from botify.recipes.fit_report import write_fit_report
from botify.recipes.fit_study import FitStudyOptions, FitStudyResult, _ab_plan, run_fit_study
from botify.sim.agents import InProcessAgent
from botify.sim.world import SimWorld, load_sim_world
from tests.test_ope_study import seminar_artifacts  # noqa: F401  (the stand-in models, a fixture)

QUICK = FitSettings(epochs=3, regroup_epochs=2, refit_epochs=1)


@pytest.fixture(scope="module")
def study(world_dir: Path, seminar_artifacts: Path,  # noqa: F811
          tmp_path_factory: pytest.TempPathFactory) -> tuple[FitStudyResult, Path]:
    out = tmp_path_factory.mktemp("fit-study")
    options = FitStudyOptions(out=out, log_episodes=3000, ab_episodes=3000, resamples=20, settings=QUICK,
                              artifacts=seminar_artifacts)
    return run_fit_study(world_dir, options, Console(record=True, width=250)), out


def test_every_arm_is_played_in_both_worlds(study: tuple[FitStudyResult, Path], sim_world: SimWorld,
                                            seminar_artifacts: Path) -> None:  # noqa: F811
    result, out = study
    assert [a.label.split()[0] for a in result.arms] == ["C"] + [f"T{i}" for i in range(1, 9)]
    assert result.arms[0].truth is None and all(a.truth is not None for a in result.arms[1:])
    plan = _ab_plan(7 + 2)
    episodes = range(70_000_000, 70_003_000)
    for world, means in ((sim_world, [a.truth_mean for a in result.arms]),
                         (load_sim_world(out / "fitted"), [a.predicted_mean for a in result.arms])):
        played = InProcessAgent(world, plan, artifacts=seminar_artifacts).play(episodes, seed=9)
        metrics = user_metrics(played.user, plan.routing.assign_many(played.user), played.time, played.tracks)
        values = metrics.metric("mean_time_per_session")
        assert means == pytest.approx([float(values[metrics.arm == a].mean()) for a in range(9)])


def test_errors_coverage_and_rankings_follow_from_the_arms(study: tuple[FitStudyResult, Path]) -> None:
    result, _ = study
    treatments = result.treatments()
    errors = [abs(a.predicted.effect - a.truth.effect) for a in treatments if a.predicted and a.truth]
    assert result.effect_errors().tolist() == pytest.approx(errors)
    assert result.covered() == sum(a.predicted.lower <= a.truth.effect <= a.predicted.upper
                                   for a in treatments if a.predicted and a.truth)
    rows = {name: (rho, tau, error) for name, rho, tau, error in result.estimator_rows()}
    assert rows["fitted world"][2] == pytest.approx(float(np.median(errors)))
    assert {"IPS", "SNIPS", "DM", "DR", "session PDIS", "session SNPDIS"} <= set(rows)
    ranked = {name: row for name, row in rows.items() if not name.startswith(("recall", "NDCG"))}
    assert all(-1 <= rho <= 1 and -1 <= tau <= 1 for rho, tau, _ in ranked.values())
    assert np.isnan(rows["recall@100 (0 arms with a model)"][0])  # stand-in models carry no offline metrics


def test_the_fitted_world_records_the_logged_day(study: tuple[FitStudyResult, Path]) -> None:
    _, out = study
    manifest = json.loads((out / "fitted" / "truth" / "manifest.json").read_text())
    assert manifest["fitted"] is True
    assert manifest["logs"]["sha256"] == logs_digest([out / "logs" / "data.json"])


def test_recovery_is_measured_against_the_truth(study: tuple[FitStudyResult, Path], sim_world: SimWorld) -> None:
    result, _ = study
    r = result.recovery
    assert -1 <= r.bias_correlation <= 1 and -1 <= r.sharpness_correlation <= 1
    assert r.true_budget == 5 and r.true_gamma == pytest.approx(0.8)
    assert r.chance_overlap == pytest.approx(100 / sim_world.n_tracks)
    assert r.neighbour_overlap > r.chance_overlap


def test_the_report(study: tuple[FitStudyResult, Path]) -> None:
    result, out = study
    console = Console(record=True, width=250)
    write_fit_report(result, out, console)
    text = console.export_text()
    assert "The fitted world ranks the 9 arms with Spearman" in text and "Best OPE estimator" in text
    report = (out / "report.md").read_text()
    assert report.startswith("# Does a world fitted to logs predict the A/B results?")
    assert "| T8 session |" in report and "## Parameter recovery" in report
    html = (out / "report.html").read_text()
    assert "plotly" in html.lower() and "predicted effect in F" in html


def test_bad_world_seeds_are_refused_before_anything_runs(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from botify.cli import main

    result = CliRunner().invoke(main, ["fit", "study", "--worlds", "0,one", "--out", str(tmp_path / "fit")])
    assert result.exit_code == 2 and "`--worlds` expects comma-separated integer seeds" in result.output
    assert not (tmp_path / "fit").exists()
