"""Off-policy evaluation on a real log: the Open Bandit Dataset sample, our estimators beside obp's."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from botify.cli import main
from botify.errors import ConfigError
from botify.ope.obd import ObdCheck, check_on_obd, click_model, load_obd


@pytest.fixture(scope="module")
def check() -> ObdCheck:
    return check_on_obd("all", simulations=20_000, resamples=50)


def test_the_sample_is_what_its_readme_describes() -> None:
    random, bts = load_obd("random"), load_obd("bts")
    assert len(random.reward) == len(bts.reward) == 10_000
    assert set(np.unique(random.position)) == {0, 1, 2} and random.action.max() < 80
    np.testing.assert_allclose(random.propensity, 1 / 80)  # uniform over 80 items at every position
    assert set(np.unique(random.reward)) == {0.0, 1.0}
    with pytest.raises(ConfigError, match="behavior"):
        load_obd("greedy")


def test_our_estimators_equal_obps_on_the_same_inputs(check: ObdCheck) -> None:
    for estimate in check.ours:
        assert estimate.value == pytest.approx(check.obp[estimate.estimator], rel=1e-12, abs=1e-15), estimate


def test_every_estimate_of_bts_is_near_its_on_policy_value(check: ObdCheck) -> None:
    assert check.on_policy == pytest.approx(load_obd("bts").reward.mean())
    for estimate in check.ours:
        assert estimate.lower <= check.on_policy <= estimate.upper or estimate.estimator == "DM", estimate
        assert check.relative_error(estimate.estimator) < 0.5, estimate  # 38 logged clicks: coarse, not wild


def test_the_click_model_is_shrunk_toward_each_positions_rate() -> None:
    random = load_obd("random")
    q = click_model(random, prior_weight=1e9)
    for position in range(3):
        assert q[:, position] == pytest.approx(random.reward[random.position == position].mean(), rel=1e-6)


def test_the_cli_prints_ours_beside_obps() -> None:
    result = CliRunner().invoke(main, ["ope", "obd", "--simulations", "5000", "--resamples", "20"])
    assert result.exit_code == 0, result.output
    assert "on-policy 0.00420" in result.output and "obp's" in result.output and "DR" in result.output
