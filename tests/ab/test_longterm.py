"""Long-term metrics: by hand on a scripted horizon, and an A/A over 14 simulated days."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.ab.aa import aa_false_positive_rate
from botify.ab.cuped import cuped
from botify.ab.longterm import (
    DailySessions,
    compare_long_term,
    cuped_long_term,
    daily_effects,
    horizon_metrics,
    retention_curve,
)
from botify.errors import ConfigError
from botify.sim.agents import RandomAgent
from botify.sim.days import play_days
from botify.sim.world import load_sim_world
from botify.world.config import WorldConfig
from botify.world.generate import write_world


def scripted() -> DailySessions:
    """Four users over 4 days. Users 0 and 1 in arm 0, users 2 and 3 in arm 1; user 3 first comes on day 1."""
    user = np.array([0, 0, 1, 2, 0, 3, 2, 3, 0, 2])
    day = np.array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3])
    time = np.array([2.0, 3.0, 1.0, 4.0, 1.5, 2.0, 5.0, 1.0, 2.5, 3.0])
    return DailySessions(user, np.where(user < 2, 0, 1), day, time, np.full(10, 3), days=4)


class TestByHand:
    def test_horizon_metrics(self) -> None:
        metrics = horizon_metrics(scripted(), retention_days=(1, 3))
        assert metrics.user.tolist() == [0, 1, 2, 3]
        assert metrics.metric("active_days").tolist() == [3, 1, 3, 2]
        assert metrics.metric("sessions_per_user").tolist() == [4, 1, 3, 2]
        assert metrics.metric("time_per_user").tolist() == [9.0, 1.0, 12.0, 3.0]
        # Day-0 cohort: users 0, 1, 2; user 3 is not in it.
        np.testing.assert_array_equal(metrics.metric("retention_d1"), [1.0, 0.0, 0.0, np.nan])
        np.testing.assert_array_equal(metrics.metric("retention_d3"), [1.0, 0.0, 1.0, np.nan])

    def test_retention_curve_pools_cohorts_by_their_first_day(self) -> None:
        curve = retention_curve(scripted())
        # k=1: users 0, 1, 2 (from day 0) and 3 (from day 1) -> active on their day 1: 0 and 3 -> 2/4.
        # k=2: 0, 1, 2 on day 2 -> only 2; 3 on day 3 -> no -> 1/4. k=3: day-0 cohort on day 3 -> 0 and 2 -> 2/3.
        np.testing.assert_allclose(curve, [1.0, 2 / 4, 1 / 4, 2 / 3])
        np.testing.assert_allclose(retention_curve(scripted(), arm=1), [1.0, 1 / 2, 1 / 2, 1.0])

    def test_daily_effects_compare_each_day_alone(self) -> None:
        effects = daily_effects(scripted(), metric="mean_time_per_session")
        assert [len(rows) for rows in effects] == [1, 1, 0, 1]  # day 2: only arm 1 (users 2 and 3)
        # Day 0: arm 0 users 0 (2.5) and 1 (1.0) -> 1.75; arm 1 user 2 (4.0).
        assert effects[0][0].control_mean == 1.75 and effects[0][0].treatment_mean == 4.0

    def test_between_renumbers_days(self) -> None:
        later = scripted().between(2, 4)
        assert later.days == 2 and later.day.tolist() == [0, 0, 1, 1] and later.user.tolist() == [2, 3, 0, 2]

    def test_bad_days_are_clear_errors(self) -> None:
        with pytest.raises(ConfigError, match="days must be in"):
            DailySessions(np.array([0]), np.array([0]), np.array([4]), np.array([1.0]), np.array([1]), days=4)
        with pytest.raises(ConfigError, match="retention day"):
            horizon_metrics(scripted(), retention_days=(4,))


@pytest.fixture(scope="module")
def aa_days(tmp_path_factory: pytest.TempPathFactory) -> DailySessions:
    """14 days of one recommender for 4,000 users: any split of them is an A/A."""
    path: Path = tmp_path_factory.mktemp("aa_world")
    write_world(path, WorldConfig(n_tracks=3000, n_users=4000, return_model=True), seed=3)
    world = load_sim_world(path)
    horizon = play_days(RandomAgent(world), world, days=14, seed=8)
    sessions = horizon.sessions
    return DailySessions(sessions.user, np.zeros(len(sessions), np.int64), horizon.day, sessions.time,
                         sessions.tracks, 14)


class TestAAOverFourteenDays:
    @pytest.mark.parametrize("metric", ["active_days", "sessions_per_user", "time_per_user", "retention_d7",
                                        "retention_d13"])
    def test_false_positive_rate_is_near_alpha(self, aa_days: DailySessions, metric: str) -> None:
        metrics = horizon_metrics(aa_days, retention_days=(7, 13))
        values = metrics.metric(metric)
        known = ~np.isnan(values)
        result = aa_false_positive_rate(metrics.user[known], values[known], runs=1000, seed=1)
        assert 0.03 <= result.rate <= 0.07, result.describe()

    def test_cuped_adjusted_time_too(self, aa_days: DailySessions) -> None:
        after = horizon_metrics(aa_days.between(4, 14))
        before = horizon_metrics(aa_days.between(0, 4))
        lookup = dict(zip(before.user.tolist(), before.metric("time_per_user").tolist(), strict=True))
        covariate = np.array([lookup.get(u, np.nan) for u in after.user.tolist()])
        adjusted = cuped(after.metric("time_per_user"), covariate)
        assert adjusted.variance_reduction > 0.05, "the pre-period predicts the rest of the horizon"
        result = aa_false_positive_rate(after.user, adjusted.adjusted, runs=1000, seed=2)
        assert 0.03 <= result.rate <= 0.07, result.describe()

    def test_cuped_long_term_takes_the_covariate_from_the_pre_period(self, aa_days: DailySessions) -> None:
        halves = DailySessions(aa_days.user, aa_days.user % 2, aa_days.day, aa_days.time, aa_days.tracks, 14)
        result = cuped_long_term(halves, pre_days=4)[0]
        after = horizon_metrics(halves.between(4, 14))
        pre_rows = halves.day < 4
        pre_time = np.bincount(halves.user[pre_rows], weights=halves.time[pre_rows], minlength=4000)
        came_before = np.bincount(halves.user[pre_rows], minlength=4000) > 0
        covariate = np.where(came_before[after.user], pre_time[after.user], np.nan)
        adjusted = cuped(after.metric("time_per_user"), covariate, np.where(after.arm == 0, -1, after.arm))
        control = after.arm == 0
        effect = (adjusted.adjusted[~control].mean() - adjusted.adjusted[control].mean()) \
            / after.metric("time_per_user")[control].mean() * 100
        assert result.effect == pytest.approx(effect)
        assert result.variance_reduction == pytest.approx(adjusted.variance_reduction) and result.variance_reduction > 0
        assert result.upper - result.lower < result.plain_upper - result.plain_lower

    def test_compare_long_term_names_every_metric(self, aa_days: DailySessions) -> None:
        halves = DailySessions(aa_days.user, aa_days.user % 2, aa_days.day, aa_days.time, aa_days.tracks, 14)
        names = [row.metric for row in compare_long_term(halves, retention_days=(1, 7, 13))]
        assert names == ["active_days", "sessions_per_user", "time_per_user", "retention_d1", "retention_d7",
                         "retention_d13"]


class TestWinners:
    def test_an_arm_that_wins_day_0_and_loses_the_horizon_is_called_out(self) -> None:
        from botify.recipes.longterm import winners

        rng = np.random.default_rng(0)
        users = np.arange(800)
        arm = users % 2
        rows_user, rows_day, rows_time = [], [], []
        for day in range(5):
            # Arm 1: longer sessions on day 0, then most of its users stop coming.
            came = users if day == 0 else users[(arm == 0) | (rng.random(800) < 0.3)]
            mean = np.where(arm[came] == 1, 3.0 if day == 0 else 2.0, 2.0)
            rows_user.append(came)
            rows_day.append(np.full(len(came), day))
            rows_time.append(mean + rng.normal(0, 0.5, len(came)))
        user = np.concatenate(rows_user)
        sessions = DailySessions(user, user % 2, np.concatenate(rows_day), np.concatenate(rows_time),
                                 np.full(len(user), 3), days=5)
        found = winners(sessions)
        assert found.short_term == "T1" and found.long_term_time == "C"
        assert len(found.reversals) == 1 and found.reversals[0].startswith("T1 reverses against C: day 0 +")
        assert "they DISAGREE" in found.describe()
