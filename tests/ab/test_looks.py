"""Sequential analysis of logs: every look of a multi-day run over HTTP, as the simulator's own sessions give it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from botify.ab.analyze import analyze_logs
from botify.ab.frames import analyze
from botify.ab.looks import POOLED_RATIO, SEQUENTIAL_METRICS, arm_looks, looks_by_slices, sequential_analysis
from botify.ab.ratio import delta_ratio_test
from botify.cli import main
from botify.errors import ConfigError
from botify.experiments import load_experiments
from botify.recipes.horizon import daily_sessions, write_calendar
from botify.service.process import ServiceProcess
from botify.sim.agents import RemoteAgent
from botify.sim.days import Horizon, play_days
from botify.sim.world import load_sim_world
from botify.world.config import WorldConfig
from botify.world.generate import write_world

EXPERIMENT = """seed: 5
experiments:
  - name: LOOKS
    arms: [random, sticky_artist, {recommender: toppop, params: {k: 20}}]
"""
DAYS = 4


@pytest.fixture(scope="module")
def served_days(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Horizon]:
    """Four days of a return-model world played over HTTP: (logs, calendar, experiment file, the simulator's days)."""
    root = tmp_path_factory.mktemp("looks")
    write_world(root / "world", WorldConfig(n_tracks=3000, n_users=1500, return_model=True), seed=3)
    world = load_sim_world(root / "world")
    (root / "plan.yml").write_text(EXPERIMENT)
    with ServiceProcess(root / "world", config=root / "plan.yml", log_dir=root / "log") as service:
        horizon = play_days(RemoteAgent(world, service.url, concurrency=8), world, days=DAYS, seed=9)
    write_calendar(horizon, root / "calendar.json")
    return root / "log", root / "calendar.json", root / "plan.yml", horizon


def test_each_look_of_the_logs_is_the_simulators_days_so_far(served_days: tuple[Path, Path, Path, Horizon]) -> None:
    logs, calendar, plan_file, horizon = served_days
    frames = analyze(logs, "LOOKS", sequential="gavi", calendar=calendar)
    assert frames.sequential is not None
    truth = daily_sessions(horizon, load_experiments(plan_file))
    figures = arm_looks(truth.user, truth.arm, truth.day, truth.time, truth.tracks, looks=DAYS,
                        metrics=("mean_time_per_session", POOLED_RATIO))
    expected = sequential_analysis(figures, method="gavi")
    for row in expected.rows:
        looks = frames.sequential
        got = looks[(looks.treatment == row.treatment) & (looks.metric == row.metric)
                    & (looks.look == row.look)].iloc[0]
        assert got.users == row.users
        assert [got.effect, got.lower, got.upper, got.pvalue] == pytest.approx(
            [row.effect, row.lower, row.upper, row.pvalue], rel=1e-9, abs=1e-12)
    assert sorted(set(frames.sequential.look)) == list(range(DAYS))


def test_the_last_look_is_the_fixed_horizon_estimate(served_days: tuple[Path, Path, Path, Horizon]) -> None:
    logs, calendar, _, _ = served_days
    frames = analyze(logs, "LOOKS", sequential="msprt", looks=5)
    last = frames.sequential[frames.sequential.look == 4].set_index(["treatment", "metric"])
    for row in frames.table[frames.table.metric.isin(SEQUENTIAL_METRICS)].itertuples():
        assert last.loc[(row.treatment, row.metric), "effect"] == pytest.approx(row.effect, rel=1e-12)
        assert last.loc[(row.treatment, row.metric), "users"] == row.control_users + row.treatment_users
    users = frames.users
    for treatment in ("T1", "T2"):
        pooled = delta_ratio_test(users.time[users.arm == treatment], users.sessions[users.arm == treatment],
                                  users.time[users.arm == "C"], users.sessions[users.arm == "C"])
        assert last.loc[(treatment, POOLED_RATIO), "effect"] == pytest.approx(pooled.effect, rel=1e-12)


def test_the_cli_says_where_each_treatment_stops(served_days: tuple[Path, Path, Path, Horizon],
                                                  tmp_path: Path) -> None:
    logs, calendar, _, _ = served_days
    report, page = tmp_path / "report.md", tmp_path / "report.html"
    result = CliRunner().invoke(main, ["ab", "analyze", str(logs), "--experiment", "LOOKS", "--sequential", "gst",
                                       "--calendar", str(calendar), "--out", str(report), "--html", str(page)])
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "Sequential analysis (gst, α = 0.05), looks: the calendar's days" in text
    # sticky_artist against random is a large effect: GST stops it at a look; the looks table follows
    assert "T1: mean_time_per_session stops at look" in text
    assert f"T1: {POOLED_RATIO} stops at look" in text
    assert "| T2 | 3 |" in text
    assert 'data-plot="sequential"' in page.read_text()

    wrong = CliRunner().invoke(main, ["ab", "analyze", str(logs), "--experiment", "LOOKS", "--looks", "3"])
    assert wrong.exit_code != 0 and "go with `--sequential" in wrong.output


def test_gst_needs_no_look_past_its_plan(served_days: tuple[Path, Path, Path, Horizon]) -> None:
    logs, _, _, _ = served_days
    analysis = analyze_logs([logs], "LOOKS")
    planned = len(analysis.metrics.user)  # every user of the three arms: more than any pair will reach
    frames = analyze(logs, "LOOKS", sequential="gst", looks=3, max_users=planned)
    assert frames.sequential is not None and len(frames.sequential) == 3 * 2 * 6


def test_slices_cut_the_log_time_evenly() -> None:
    assert looks_by_slices([0, 9, 10, 19, 20, 29], 3).tolist() == [0, 0, 1, 1, 2, 2]
    assert looks_by_slices(np.array([5, 5]), 4).tolist() == [0, 0]
    with pytest.raises(ConfigError, match="looks"):
        looks_by_slices([1, 2], 0)
    with pytest.raises(ConfigError, match="unknown sequential metric"):
        arm_looks([1], [0], [0], [1.0], [1], looks=1, metrics=("p99",))


def test_each_look_counts_the_sessions_ended_by_then() -> None:
    # control (arm 0): user 1 on looks 0 and 1, user 2 on look 0, user 5 on look 1; treatment: users 3, 4 on look 0
    figures = arm_looks([1, 1, 2, 5, 3, 4], [0, 0, 0, 0, 1, 1], [0, 1, 0, 1, 0, 0], [2.0, 4.0, 6.0, 5.0, 1.0, 3.0],
                        [2, 4, 6, 5, 1, 3], looks=2, metrics=("mean_time_per_session", "time"))
    control = figures["mean_time_per_session"][0]
    assert control.users.tolist() == [2, 3]
    assert control.mean.tolist() == [(2.0 + 6.0) / 2, (3.0 + 6.0 + 5.0) / 3]  # user 1 averages 3 by look 1
    assert figures["time"][0].mean.tolist() == [(2.0 + 6.0) / 2, (6.0 + 6.0 + 5.0) / 3]
    assert figures["time"][1].users.tolist() == [2, 2] and figures["time"][1].variance.tolist() == [2.0, 2.0]
