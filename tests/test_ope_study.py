"""``botify ope study`` on a small world: decisions read from the service's log lines, and the study end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from rich.console import Console

from botify.artifacts import save_artifact
from botify.experiments import ExperimentPlan
from botify.ope import REPLAYED, TARGETS, read_decisions
from botify.ope.targets import mixture_plan, replay
from botify.recipes.ope import OpeOptions, run_ope_study
from botify.recommenders.registry import build_recommender
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import SimWorld
from botify.testing.artifacts import random_report_artifacts
from botify.train.neighbours import indexed_arrays, top_k_inner_product


@pytest.fixture(scope="module")
def seminar_artifacts(sim_world: SimWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stand-ins for the seminar's five models (seeded random vectors: the recommenders only read arrays)."""
    root = random_report_artifacts(sim_world.catalog, sim_world.n_users, tmp_path_factory.mktemp("seminar"))
    rng = np.random.default_rng(4)
    items = rng.normal(size=(sim_world.n_tracks, 8)).astype(np.float32)
    users = rng.normal(size=(sim_world.n_users, 8)).astype(np.float32)
    save_artifact(root, "als", "indexed", indexed_arrays(np.arange(sim_world.n_users), users, items, 50),
                  sim_world.catalog)
    save_artifact(root, "contextual-diverse", "item_lists", {"lists": top_k_inner_product(items, items, 20)},
                  sim_world.catalog)
    save_artifact(root, "toppop", "popularity", {"popularity": rng.random(sim_world.n_tracks) * 100},
                  sim_world.catalog)
    return root


def test_the_study_estimates_every_arm_and_writes_its_report(sim_world: SimWorld, seminar_artifacts: Path,
                                                             tmp_path: Path) -> None:
    console = Console(record=True, width=250)
    results = run_ope_study(sim_world, OpeOptions(seminar_artifacts, tmp_path / "ope", log_episodes=3000,
                                                  truth_episodes=3000, resamples=20), console)
    assert [r.label for r in results] == [f"{n}({p['artifact']})" if p else n for n, p, _ in TARGETS] + \
        ["custom", "session"]
    for result in results:
        assert {e.estimator for e in result.estimates} == {"IPS", "SNIPS", "DM", "DR", "session PDIS",
                                                          "session SNPDIS"}
        assert 0 < result.truth_decision < 1 and result.truth_session > 1
    stateless = [r for r in results if r.label not in ("sticky_artist", "custom", "session")]
    for result in stateless:  # near-random stand-in models: per-decision estimates within 30 % of the truth
        assert result.value("SNIPS") == pytest.approx(result.truth_decision, rel=0.3), result.label
        assert result.value("DR") == pytest.approx(result.truth_decision, rel=0.3), result.label
        # IPS is unbiased only if the logged propensities are how the picks were drawn; SNIPS and DR hide a wrong
        # propensity (picks drawn uniformly over the mixture's components put TopPop's IPS 49 % off, DSSM's 34 %)
        assert result.value("IPS") == pytest.approx(result.truth_decision, rel=0.25), result.label
    # StickyArtist is the one arm far better than chance online; the estimators must see it too
    best_online = max(results, key=lambda r: r.truth_session)
    assert best_online.label == "sticky_artist" and best_online.truth_session > 1.5
    for estimator in ("DR", "session PDIS", "session SNPDIS"):
        assert max(results, key=lambda r: r.value(estimator)).label == "sticky_artist", estimator
    decisions = read_decisions(tmp_path / "ope" / "logs" / "data.json")
    by_hand = float(np.mean(decisions.reward * (1 / sim_world.n_tracks) / decisions.propensity))
    assert results[0].value("IPS") == pytest.approx(by_hand)  # Random's IPS from the logged propensities
    text = console.export_text()
    assert "Best predictor of the online ranking (mean session time)" in text and "Spearman" in text
    report = (tmp_path / "ope" / "report.md").read_text()
    assert report.startswith("# Offline evaluation against the online truth") and "| recall@100" in report
    assert "plotly" in (tmp_path / "ope" / "report.html").read_text().lower()
    logged = [orjson.loads(raw) for raw in (tmp_path / "ope" / "logs" / "data.json").read_bytes().splitlines()]
    assert all(r["propensity"] > 0 for r in logged if r["message"] == "next"), "every decision has a propensity"


def test_replaying_a_stateful_recommender_along_its_own_log_gives_its_answers(sim_world: SimWorld,
                                                                             seminar_artifacts: Path,
                                                                             tmp_path: Path) -> None:
    params = REPLAYED[0][1]
    plan = ExperimentPlan.from_dict({"seed": 5, "experiments": [
        {"name": "OWN", "arms": [{"recommender": "custom", "params": params}]}]})
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, artifacts=seminar_artifacts, log=log).play(range(400), seed=2)
    decisions = read_decisions(log.write(tmp_path))
    fresh = build_recommender("custom", sim_world.catalog, params, random_state=5, artifacts=seminar_artifacts)
    assert (replay(fresh, decisions.requests) == decisions.action).all()
    other = build_recommender("custom", sim_world.catalog, {**params, "probability": 0.9}, random_state=5,
                              artifacts=seminar_artifacts)
    assert not (replay(other, decisions.requests) == decisions.action).all(), "the check can fail"


def test_the_logged_propensities_are_the_frequencies_of_the_logged_picks(sim_world: SimWorld,
                                                                         seminar_artifacts: Path,
                                                                         tmp_path: Path) -> None:
    """For any policy π, E[π(a|x) / p(a|x)] over the log is 1 exactly when p is how the logged picks were drawn."""
    plan = mixture_plan(seed=3)
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, artifacts=seminar_artifacts, log=log).play(range(3000), seed=4)
    decisions = read_decisions(log.write(tmp_path))
    for name, params, _ in TARGETS:
        target = build_recommender(name, sim_world.catalog, params, random_state=3, artifacts=seminar_artifacts)
        policy = target.probability_batch(decisions.requests, decisions.action)
        assert policy is not None
        ratio = policy / decisions.propensity
        error = ratio.std(ddof=1) / np.sqrt(len(ratio))
        assert abs(ratio.mean() - 1) < 4 * error, (name, params, ratio.mean(), error)
