"""The return model: its equations on scripted users, and the same days for the same seed whatever plays them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.special import expit, logit

from botify.ab.analyze import analyze_logs
from botify.ab.longterm import Calendar, DailySessions, horizon_metrics
from botify.cli import main
from botify.errors import ConfigError, LabError
from botify.experiments import load_experiments
from botify.recipes.horizon import daily_sessions, write_calendar
from botify.recommenders.base import Requests
from botify.recommenders.registry import build_plan_recommenders
from botify.service.process import ServiceProcess
from botify.sim.agents import InProcessAgent, RandomAgent, RemoteAgent
from botify.sim.days import Horizon, play_days
from botify.sim.env_days import ReturningUserEnv
from botify.sim.model import listen_time, taste_scores
from botify.sim.returns import ArtistFatigue, ReturnState, satisfaction
from botify.sim.world import SimWorld, load_sim_world
from botify.world.config import WorldConfig
from botify.world.generate import write_world
from botify.world.seeding import counter_uniform

CONFIG = WorldConfig(n_tracks=3000, n_users=400, return_model=True)
EXPERIMENT = """seed: 11
experiments:
  - name: DAYS
    arms: [random, sticky_artist, {recommender: toppop, params: {k: 20}}]
"""
DAYS = 6


@pytest.fixture(scope="module")
def returns_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("returns_world")
    write_world(path, CONFIG, seed=7)
    return path


@pytest.fixture(scope="module")
def returns_world(returns_world_dir: Path) -> SimWorld:
    return load_sim_world(returns_world_dir)


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "days.yml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture(scope="module")
def in_process_days(returns_world: SimWorld, experiment_file: Path) -> Horizon:
    agent = InProcessAgent(returns_world, load_experiments(experiment_file))
    return play_days(agent, returns_world, days=DAYS, seed=4)


def assert_same_days(got: Horizon, expected: Horizon) -> None:
    np.testing.assert_array_equal(got.day, expected.day)
    np.testing.assert_array_equal(got.sessions.episode, expected.sessions.episode)
    np.testing.assert_array_equal(got.sessions.user, expected.sessions.user)
    np.testing.assert_array_equal(got.sessions.tracks, expected.sessions.tracks)
    np.testing.assert_array_equal(got.sessions.time, expected.sessions.time)
    np.testing.assert_array_equal(got.left_on, expected.left_on)


class TestTheModelIsOffByDefault:
    def test_a_default_world_has_no_return_model_and_days_say_how_to_get_one(self, sim_world: SimWorld) -> None:
        assert sim_world.truth.returns is None
        with pytest.raises(LabError, match="--set return_model=true"):
            play_days(RandomAgent(sim_world), sim_world, days=2, seed=0)

    def test_turning_it_on_changes_nothing_else_in_the_world(self, returns_world: SimWorld,
                                                             sim_world: SimWorld) -> None:
        assert dataclasses.replace(CONFIG, return_model=False) == WorldConfig(n_tracks=3000, n_users=400)
        np.testing.assert_array_equal(returns_world.truth.embeddings, sim_world.truth.embeddings)
        np.testing.assert_array_equal(returns_world.truth.interests, sim_world.truth.interests)
        np.testing.assert_array_equal(returns_world.truth.consume_bias, sim_world.truth.consume_bias)


class TestEquationsOnScriptedUsers:
    def test_satisfaction_is_tanh_of_the_log_ratio(self) -> None:
        time, expectation = np.array([1.0, 2.5, 5.0]), np.array([2.5, 2.5, 2.5])
        np.testing.assert_allclose(satisfaction(time, expectation), np.tanh(np.log(time / expectation)))
        assert satisfaction(np.array([2.5]), np.array([2.5]))[0] == 0.0

    def test_a_wave_moves_odds_and_expectation_and_decides_who_leaves_and_who_comes_again(
            self, returns_world: SimWorld) -> None:
        state = ReturnState(returns_world, seed=3)
        knobs = state.knobs
        users = state.start_day(0)
        assert len(users), "someone visits on day 0"
        draws = counter_uniform(3, 21, 0, 0, np.arange(400))
        np.testing.assert_array_equal(users, np.flatnonzero(draws < returns_world.truth.returns.visit_probability))

        scripted = users[:3]
        times = np.array([1.0, 3.0, 12.0])
        odds_before = state.log_odds[scripted].copy()
        expectation_before = state.expectation[scripted].copy()
        episodes = state.episodes(0, scripted)
        assert episodes.tolist() == [u for u in scripted.tolist()]  # day 0, wave 0: the episode is the user
        again = state.end_wave(0, scripted, times, episodes[[0, 0]], np.array([5, 9]))

        by_hand = []
        for row, user in enumerate(scripted.tolist()):
            time, expectation = times[row], expectation_before[row]
            s = (time**2 - expectation**2) / (time**2 + expectation**2)
            odds = odds_before[row] + knobs.satisfaction_rate * s
            assert state.log_odds[user] == pytest.approx(odds, abs=1e-12)
            assert state.expectation[user] == pytest.approx(
                expectation + knobs.expectation_adaptation * (time - expectation), abs=1e-12)
            leaves = counter_uniform(3, 23, 0, 0, user)[0] < knobs.churn_probability * (1 - s) / 2
            assert state.left[user] == leaves
            comes_again = not leaves and counter_uniform(3, 22, 0, 1, user)[0] < knobs.repeat_share * expit(odds)
            by_hand.append(comes_again)
        assert again.tolist() == [u for u, a in zip(scripted.tolist(), by_hand, strict=True) if a]
        assert state.log_odds[scripted[0]] < odds_before[0] and state.log_odds[scripted[2]] > odds_before[2] + 0.1

    def test_a_user_who_left_never_visits_again(self, returns_world: SimWorld) -> None:
        state = ReturnState(returns_world, seed=3)
        state.start_day(0)
        state.left[:200] = True
        state.log_odds[:] = logit(0.999999)
        assert state.start_day(1).min() >= 200

    def test_fatigue_adds_one_per_session_recovers_overnight_and_scales_listened_time(
            self, returns_world: SimWorld) -> None:
        state = ReturnState(returns_world, seed=3)
        knobs = state.knobs
        state.start_day(0)
        track = 17
        artist = int(returns_world.artist_id[track])
        user = np.array([5])
        assert state.listen_factor(user, np.array([track])) == pytest.approx([1.0])
        state.end_wave(0, user, np.array([2.0]), np.array([5]), np.array([artist]))
        state.end_wave(1, user, np.array([2.0]), np.array([400 + 5]), np.array([artist]))
        assert state.fatigue.of(user, np.array([artist]))[0] == 2.0
        state.start_day(1)
        recovered = 2.0 * knobs.fatigue_recovery
        assert state.fatigue.of(user, np.array([artist]))[0] == pytest.approx(recovered)
        factor = state.listen_factor(user, np.array([track]))
        assert factor is not None and factor[0] == pytest.approx(knobs.artist_fatigue**recovered)

        truth = returns_world.truth
        interest = returns_world.embeddings[[truth.interests[5, 0]]]
        score = taste_scores(returns_world.embeddings, np.array([track]), interest)[0]
        raw = 1 / (1 + np.exp(-(score - truth.consume_bias[5]) * truth.consume_sharpness[5]))
        expected = round(raw * truth.artist_discount_gamma[5] ** 1 * knobs.artist_fatigue**recovered, 2)
        got = listen_time(np.array([score]), truth.consume_bias[[5]], truth.consume_sharpness[[5]],
                          truth.artist_discount_gamma[[5]], 1, False, factor)
        assert got[0] == pytest.approx(expected, abs=1e-9)

    def test_fatigue_is_forgotten_under_a_hundredth(self) -> None:
        fatigue = ArtistFatigue(n_artists=10)
        fatigue.add(np.array([1, 2]), np.array([3, 3]))
        fatigue.add(np.array([2]), np.array([3]))
        for _ in range(20):
            fatigue.recover(0.8)
        assert fatigue.of(np.array([1, 2]), np.array([3, 3])).tolist() == pytest.approx([0.8**20, 2 * 0.8**20])
        fatigue.recover(0.8)  # 0.8 ** 21 < 0.01
        assert fatigue.of(np.array([1, 2]), np.array([3, 3])).tolist() == pytest.approx([0.0, 2 * 0.8**21])
        assert len(fatigue.keys) == 1


class TestSameSeedSameDays:
    def test_the_model_acts_in_these_days(self, in_process_days: Horizon) -> None:
        per_day = [in_process_days.summary(day) for day in range(DAYS)]
        assert per_day[0].active_users > per_day[-1].active_users > 0
        assert (in_process_days.left_on >= 0).sum() > 0, "someone left for good"
        assert in_process_days.sessions.time.max() > 1.0

    def test_in_process_twice(self, returns_world: SimWorld, experiment_file: Path,
                              in_process_days: Horizon) -> None:
        again = play_days(InProcessAgent(returns_world, load_experiments(experiment_file)), returns_world,
                          days=DAYS, seed=4)
        assert_same_days(again, in_process_days)
        other_seed = play_days(InProcessAgent(returns_world, load_experiments(experiment_file)), returns_world,
                               days=DAYS, seed=5)
        assert len(other_seed.sessions) != len(in_process_days.sessions) or \
            not np.array_equal(other_seed.sessions.time, in_process_days.sessions.time)

    @pytest.mark.parametrize("concurrency", [1, 16])
    def test_over_http(self, returns_world: SimWorld, returns_world_dir: Path, experiment_file: Path,
                       in_process_days: Horizon, tmp_path: Path, concurrency: int) -> None:
        with ServiceProcess(returns_world_dir, config=experiment_file, log_dir=tmp_path / "log") as service:
            agent = RemoteAgent(returns_world, service.url, concurrency=concurrency)
            got = play_days(agent, returns_world, days=DAYS, seed=4)
        assert_same_days(got, in_process_days)

        # The service's logs, cut into days by the run's calendar, give the simulator's long-term metrics.
        write_calendar(got, tmp_path / "calendar.json")
        analysis = analyze_logs([tmp_path / "log"], "DAYS")
        calendar = Calendar.load(tmp_path / "calendar.json")
        from_logs = horizon_metrics(DailySessions.from_logs(analysis.sessions, calendar), retention_days=(1, DAYS - 1))
        plan = load_experiments(experiment_file)
        truth = horizon_metrics(daily_sessions(got, plan), retention_days=(1, DAYS - 1))
        np.testing.assert_array_equal(from_logs.user, truth.user)
        np.testing.assert_array_equal(from_logs.arm, truth.arm)
        for name in ("active_days", "sessions_per_user", "retention_d1", f"retention_d{DAYS - 1}"):
            np.testing.assert_array_equal(from_logs.metric(name), truth.metric(name), err_msg=name)
        np.testing.assert_allclose(from_logs.metric("time_per_user"), truth.metric("time_per_user"), rtol=1e-12)

        report, page = tmp_path / "report.md", tmp_path / "report.html"
        result = CliRunner().invoke(main, ["ab", "analyze", str(tmp_path / "log"), "--experiment", "DAYS",
                                           "--calendar", str(tmp_path / "calendar.json"), "--out", str(report),
                                           "--html", str(page)])
        assert result.exit_code == 0, result.output
        assert f"## Over the horizon ({DAYS} simulated days)" in report.read_text()
        assert "retention_d1" in report.read_text() and "data-plot=\"retention\"" in page.read_text()

    def test_in_the_gymnasium_env_user_by_user(self, returns_world: SimWorld, experiment_file: Path,
                                               in_process_days: Horizon) -> None:
        plan = load_experiments(experiment_file)
        recommenders = build_plan_recommenders(plan, returns_world.catalog)
        arm_of_user = plan.routing.assign_many(np.arange(returns_world.n_users))
        env = ReturningUserEnv(returns_world, days=DAYS)
        sessions = in_process_days.sessions
        for user in np.unique(sessions.user)[:25].tolist():
            observation, _ = env.reset(seed=4, options={"user": user})
            recommender = recommenders[arm_of_user[user]]
            played: list[tuple[int, float, int]] = []
            time, tracks, step, done = 1.0, 1, 0, False
            while not done:
                request = Requests.one(user, observation["track"], float(observation["time"]),
                                          observation["session"], step)
                day = observation["day"]
                action = int(recommender.recommend_batch(request)[0])
                observation, reward, terminated, truncated, info = env.step(action)
                time, tracks, step = time + reward, tracks + 1, step + 1
                done = terminated or truncated
                if info["session_ended"]:
                    played.append((day, round(time, 6), tracks))
                    time, tracks, step = 1.0, 1, 0
            rows = sessions.user == user
            expected = list(zip(in_process_days.day[rows].tolist(), np.round(sessions.time[rows], 6).tolist(),
                                sessions.tracks[rows].tolist(), strict=True))
            assert played == expected, f"user {user}"


class TestCommands:
    def test_generate_and_run_days_with_per_arm_tables(self, tmp_path: Path, experiment_file: Path) -> None:
        world = tmp_path / "world"
        generated = CliRunner().invoke(main, ["world", "generate", "--out", str(world), "--seed", "7", "--tracks",
                                              "3000", "--users", "400", "--set", "return_model=true"])
        assert generated.exit_code == 0, generated.output
        result = CliRunner().invoke(main, ["sim", "run", "--world", str(world), "--days", "4", "--seed", "4",
                                           "--experiment", str(experiment_file)])
        assert result.exit_code == 0, result.output
        for day in range(4):
            assert f"day {day}: " in result.output and "active users" in result.output
        for text in ("each arm by day", "retention: share of a cohort", "retention_d1", "time_per_user",
                     "C=random", "T2=toppop"):
            assert text in result.output, text

    def test_episodes_with_the_return_model_is_a_clear_error(self, returns_world_dir: Path) -> None:
        result = CliRunner().invoke(main, ["sim", "run", "--world", str(returns_world_dir), "--episodes", "10"])
        assert result.exit_code == 1 and "each day's sessions come from it; drop --episodes" in result.output

    def test_a_bad_boolean_knob_is_a_clear_error(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(main, ["world", "generate", "--out", str(tmp_path / "w"), "--set",
                                           "return_model=yes"])
        assert result.exit_code != 0 and "expects true or false" in result.output

    def test_longterm_recipe_over_http(self, returns_world_dir: Path, model_artifacts: Path, tmp_path: Path) -> None:
        result = CliRunner().invoke(main, ["longterm", "--world", str(returns_world_dir), "--artifacts",
                                           str(model_artifacts), "--days", "3", "--pre-days", "2", "--out",
                                           str(tmp_path / "lt")])
        assert result.exit_code == 0, result.output
        assert "short-term winner (day 0, mean_time_per_session)" in result.output
        report = (tmp_path / "lt" / "report.md").read_text()
        assert report.startswith("# The long-term experiment\n\n**short-term winner")
        assert "| k | C | T1 | T2 |" in report and "## All 3 days as one A/B" in report
        html = (tmp_path / "lt" / "report.html").read_text()
        assert "retention: share of a cohort" in html and "plotly" in html.lower()
        assert "from the service's logs" in result.output
        calendar = Calendar.load(tmp_path / "lt" / "calendar.json")
        assert calendar.days == 5 and (calendar.start[1:] > calendar.end[:-1]).all()
        # The pre-period: its own service and logs, everyone on the control; CUPED's table in the report.
        assert (tmp_path / "lt" / "pre-logs" / "data.json").stat().st_size > 0
        assert "## CUPED with 2 pre-period days (everyone on C)" in report
        assert result.output.count("CUPED T") == 6  # 2 treatments x 3 horizon metrics

    def test_a_calendar_that_does_not_fit_the_logs_is_a_clear_error(self, tmp_path: Path) -> None:
        Calendar(np.array([0, 10]), np.array([5, 20])).save(tmp_path / "calendar.json")
        assert Calendar.load(tmp_path / "calendar.json").day_of(np.array([0, 5, 10, 20])).tolist() == [0, 0, 1, 1]
        with pytest.raises(ConfigError, match="2 sessions end outside every day of the calendar"):
            Calendar.load(tmp_path / "calendar.json").day_of(np.array([3, 7, 12, 25]))
        (tmp_path / "bad.json").write_text('{"days": [[5, 1]]}')
        with pytest.raises(ConfigError, match="each start <= end"):
            Calendar.load(tmp_path / "bad.json")
