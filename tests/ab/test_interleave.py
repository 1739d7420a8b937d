"""Interleaving: turns over HTTP as in-process, every credit accounted for, and answers known by construction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from botify.ab.interleave import interleaving_credits, preferences
from botify.ab.metrics import user_metrics
from botify.cli import main
from botify.errors import ConfigError
from botify.experiments import ExperimentPlan, load_experiments
from botify.logs.reader import read_events
from botify.logs.sessions import sessionize
from botify.recommenders.custom import SessionMemory
from botify.recommenders.interleave import ComponentStore
from botify.recommenders.registry import build_recommender
from botify.service.process import ServiceProcess
from botify.sim.agents import InProcessAgent, InProcessLog, RemoteAgent
from botify.sim.world import SimWorld
from botify.state import InMemoryStore
from botify.world.catalog import Catalog

EXPERIMENT = """seed: 8
experiments:
  - name: IL
    arms:
      - random
      - {recommender: interleave, params: {components: [random, sticky_artist]}}
"""


def interleaved(components: list[str], seed: int) -> ExperimentPlan:
    return ExperimentPlan.from_dict({"seed": seed, "experiments": [
        {"name": "IL", "arms": [{"recommender": "interleave", "params": {"components": components}}]}]})


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interleave") / "plan.yml"
    path.write_text(EXPERIMENT)
    return path


def next_lines(path: Path) -> list[tuple[int, int, int, int, int]]:
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return sorted((r["user"], r["session"], r["step"], r["recommendation"], r.get("team", -1))
                  for r in records if r["message"] == "next")


def test_an_interleaved_day_over_http_equals_the_in_process_one(sim_world: SimWorld, world_dir: Path,
                                                                plan_file: Path, tmp_path: Path) -> None:
    plan = load_experiments(plan_file)
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, log=log).play(range(600), seed=3)
    in_process = log.write(tmp_path / "in-process")
    with ServiceProcess(world_dir, config=plan_file, log_dir=tmp_path / "http") as service:
        RemoteAgent(sim_world, service.url, concurrency=8).play(range(600), seed=3)
    over_http = next_lines(tmp_path / "http" / "data.json")
    assert over_http == next_lines(in_process)
    assert {team for *_, team in over_http} == {-1, 0, 1}  # control lines carry no team; both teams played

    events, _ = read_events([tmp_path / "http"], "IL")
    credits = interleaving_credits(events, arm=1)
    same = interleaving_credits(read_events([in_process], "IL")[0], arm=1)
    np.testing.assert_array_equal(credits.user, same.user)
    np.testing.assert_allclose(credits.credit, same.credit, rtol=1e-12)


def test_every_credit_is_a_listened_time_of_the_session(sim_world: SimWorld, tmp_path: Path) -> None:
    """Per user, the two teams' credits add up to the listened time after each session's first track."""
    plan = interleaved(["random", "sticky_artist"], seed=4)
    log = InProcessLog(plan)
    results = InProcessAgent(sim_world, plan, log=log).play(range(800), seed=5)
    events, _ = read_events([log.write(tmp_path)], "IL")
    for name in ("user", "track", "arm", "timestamp", "time", "recommendation", "is_last", "session", "step", "team"):
        np.testing.assert_array_equal(getattr(log.events(), name), getattr(events, name), err_msg=name)
    credits = interleaving_credits(events)
    assert credits.unanswered == 0
    truth = user_metrics(results.user, np.zeros(len(results), np.int64), results.time, results.tracks)
    by_user = dict(zip(truth.user.tolist(), (truth.time - truth.sessions).tolist(), strict=True))  # first track: 1.0
    np.testing.assert_allclose(credits.credit.sum(axis=1), [by_user[u] for u in credits.user.tolist()], rtol=1e-9)
    assert sessionize(events).time.sum() == pytest.approx(results.time.sum())


def test_a_dominant_component_wins(sim_world: SimWorld, tmp_path: Path) -> None:
    plan = interleaved(["random", "sticky_artist"], seed=6)
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, log=log).play(range(800), seed=7)
    [preference] = preferences(interleaving_credits(read_events([log.write(tmp_path)], "IL")[0]))
    assert preference.preference > 0.2 and preference.lower > 0 and preference.pvalue < 1e-10
    assert preference.wins_b > 2 * preference.wins_a


def test_the_same_recommender_twice_is_preferred_only_at_the_error_rate(sim_world: SimWorld,
                                                                        tmp_path: Path) -> None:
    runs, significant = 100, 0
    for run in range(runs):
        plan = interleaved(["toppop", "toppop"], seed=100 + run)  # the same policy, drawn independently per team
        log = InProcessLog(plan)
        InProcessAgent(sim_world, plan, log=log).play(range(run * 300, (run + 1) * 300), seed=run)
        [preference] = preferences(interleaving_credits(read_events([log.write(tmp_path / str(run))], "IL")[0]))
        significant += preference.pvalue < 0.05
    assert significant <= 10, significant  # 5 % of 100, and twice its standard error


def test_the_cli_reports_the_preference_beside_the_ab_table(sim_world: SimWorld, plan_file: Path,
                                                            tmp_path: Path) -> None:
    plan = load_experiments(plan_file)
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, log=log).play(range(800), seed=9)
    logs = log.write(tmp_path / "logs").parent
    report = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["ab", "interleave", str(logs), "--experiment", "IL", "--plan", str(plan_file),
                                       "--out", str(report)])
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "interleaved arm T1" in text and "sticky_artist vs random: preference +" in text
    assert "## The A/B table" in text and "| T1 | mean_time_per_session |" in text
    plain = CliRunner().invoke(main, ["ab", "interleave", str(logs), "--experiment", "NONE"])
    assert plain.exit_code != 0


STATEFUL = """seed: 9
experiments:
  - name: IL
    arms:
      - recommender: interleave
        params:
          components:
            - {recommender: indexed, params: {artifact: dssm}}
            - recommender: custom
              params: {dssm: dssm, contextual: contextual, threshold: 0.1, probability: 0.3}
"""


def test_a_stateful_component_keeps_its_own_state_over_http_as_in_process(
        sim_world: SimWorld, world_dir: Path, model_artifacts: Path, tmp_path: Path) -> None:
    (tmp_path / "plan.yml").write_text(STATEFUL)
    plan = load_experiments(tmp_path / "plan.yml")
    log = InProcessLog(plan)
    InProcessAgent(sim_world, plan, artifacts=model_artifacts, log=log).play(range(300), seed=2)
    with ServiceProcess(world_dir, config=tmp_path / "plan.yml", log_dir=tmp_path / "http",
                        extra_args=["--artifacts", str(model_artifacts)]) as service:
        RemoteAgent(sim_world, service.url, concurrency=8).play(range(300), seed=2)
    over_http = next_lines(tmp_path / "http" / "data.json")
    assert over_http == next_lines(log.write(tmp_path / "in-process"))
    assert {team for *_, team in over_http} == {0, 1}


def test_components_are_checked(catalog: Catalog) -> None:
    with pytest.raises(ConfigError, match="two or more"):
        build_recommender("interleave", catalog, {"components": ["random"]})
    with pytest.raises(ConfigError, match="recommender, params"):
        build_recommender("interleave", catalog, {"components": ["random", {"recommender": "toppop", "k": 3}]})


def test_a_stateful_component_sees_every_track_of_the_session(catalog: Catalog, model_artifacts: Path) -> None:
    store = InMemoryStore()
    interleave = build_recommender("interleave", catalog, {"components": ["random", {
        "recommender": "custom", "params": {"dssm": "dssm", "contextual": "contextual"}}]}, random_state=1,
        artifacts=model_artifacts, store=store)
    tracks = [11, 22, 33, 44, 55, 66]
    teams = [interleave.team_one(7, 0, step) for step in range(len(tracks))]  # type: ignore[attr-defined]
    assert set(teams) == {0, 1}
    for step, track in enumerate(tracks):
        interleave.recommend(7, track, 1.0, 0, step)
    state = ComponentStore(store, 1).get_state(7)
    assert state is not None and SessionMemory.decode(state).played == tracks  # its rival's turns included
    assert store.get_state(7) is None  # the user's own key is left to a plain arm
