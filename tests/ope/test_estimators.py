"""Off-policy estimators: by hand, against Open Bandit Pipeline, and unbiased on bandits whose truth is known."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from botify.errors import ConfigError
from botify.ope.estimators import Logged, dm, dr, estimate_all, ips, session_pdis, session_snpdis, snips


class TestByHand:
    def test_four_decisions(self) -> None:
        logged = Logged(reward=np.array([1.0, 0.0, 0.5, 0.2]), propensity=np.array([0.5, 0.25, 0.25, 0.1]),
                        target_probability=np.array([1.0, 0.0, 0.5, 0.1]),
                        q_logged=np.array([0.8, 0.1, 0.4, 0.3]), dm_value=np.array([0.7, 0.2, 0.5, 0.3]))
        # weights 2, 0, 2, 1
        assert ips(logged) == pytest.approx((2 * 1.0 + 0 + 2 * 0.5 + 1 * 0.2) / 4)
        assert snips(logged) == pytest.approx((2 * 1.0 + 2 * 0.5 + 0.2) / (2 + 0 + 2 + 1))
        assert dm(logged) == pytest.approx((0.7 + 0.2 + 0.5 + 0.3) / 4)
        assert dr(logged) == pytest.approx((0.7 + 2 * 0.2 + 0.2 + 0 + 0.5 + 2 * 0.1 + 0.3 + 1 * -0.1) / 4)

    def test_sessions(self) -> None:
        # Two sessions: weights (2, 0.5) and (1,); rewards (0.4, 0.6) and (0.9,).
        logged = Logged(reward=np.array([0.4, 0.6, 0.9]), propensity=np.array([0.5, 0.5, 1.0]),
                        target_probability=np.array([1.0, 0.25, 1.0]), session=np.array([7, 7, 9]))
        assert session_pdis(logged) == pytest.approx(1 + ((2 * 0.4 + 2 * 0.5 * 0.6) + 0.9) / 2)
        # Step 0: (2·0.4 + 1·0.9) / (2 + 1); step 1: 1·0.6 / (1 + 1) — session 9 ended with ρ = 1.
        assert session_snpdis(logged) == pytest.approx(1 + (2 * 0.4 + 0.9) / 3 + 0.6 / 2)

    def test_bad_input_is_a_clear_error(self) -> None:
        with pytest.raises(ConfigError, match="propensity must be > 0"):
            Logged(np.array([1.0]), np.array([0.0]), np.array([1.0]))
        with pytest.raises(ConfigError, match="`target_probability` has 2 rows"):
            Logged(np.array([1.0]), np.array([0.5]), np.array([1.0, 0.0]))
        with pytest.raises(ConfigError, match="DM needs"):
            dm(Logged(np.array([1.0]), np.array([0.5]), np.array([1.0])))


def bandit(rng: np.random.Generator, n: int, actions: int = 5
           ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per row: the logging policy's distribution, the target's, and the expected reward of every action."""
    contexts = rng.integers(0, 10, n)
    logits = np.sin(np.arange(10)[:, None] * 1.3 + np.arange(actions)[None, :])
    logging = np.exp(logits)[contexts]
    logging /= logging.sum(axis=1, keepdims=True)
    target = np.exp(-2 * logits)[contexts]
    target /= target.sum(axis=1, keepdims=True)
    mean_reward = (0.5 + 0.4 * np.cos(np.arange(10)[:, None] + 2 * np.arange(actions)[None, :]))[contexts]
    return logging, target, mean_reward


def logs_of(rng: np.random.Generator, logging: npt.NDArray[np.float64], target: npt.NDArray[np.float64],
            mean_reward: npt.NDArray[np.float64], q_hat: npt.NDArray[np.float64]) -> Logged:
    n = len(logging)
    action = (rng.random(n)[:, None] > np.cumsum(logging, axis=1)).sum(axis=1)
    rows = np.arange(n)
    reward = (rng.random(n) < mean_reward[rows, action]).astype(np.float64)
    return Logged(reward, logging[rows, action], target[rows, action], q_logged=q_hat[rows, action],
                  dm_value=(target * q_hat).sum(axis=1))


class TestAgainstOpenBanditPipeline:
    def test_same_values_on_the_same_arrays(self) -> None:
        obp_ope = pytest.importorskip("obp.ope", reason="Open Bandit Pipeline (a test dependency)")
        rng = np.random.default_rng(11)
        logging, target, mean_reward = bandit(rng, 3000)
        q_hat = np.clip(mean_reward + rng.normal(0, 0.1, mean_reward.shape), 0, 1)
        n = len(logging)
        action = (rng.random(n)[:, None] > np.cumsum(logging, axis=1)).sum(axis=1)
        rows = np.arange(n)
        reward = (rng.random(n) < mean_reward[rows, action]).astype(np.float64)
        ours = Logged(reward, logging[rows, action], target[rows, action], q_logged=q_hat[rows, action],
                      dm_value=(target * q_hat).sum(axis=1))
        shared = {"reward": reward, "action": action, "pscore": logging[rows, action],
                  "action_dist": target[:, :, None], "position": np.zeros(n, dtype=int)}
        theirs = {
            "IPS": obp_ope.InverseProbabilityWeighting().estimate_policy_value(**shared),
            "SNIPS": obp_ope.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**shared),
            "DM": obp_ope.DirectMethod().estimate_policy_value(
                action_dist=target[:, :, None], estimated_rewards_by_reg_model=q_hat[:, :, None],
                position=np.zeros(n, dtype=int)),
            "DR": obp_ope.DoublyRobust().estimate_policy_value(**shared,
                                                                estimated_rewards_by_reg_model=q_hat[:, :, None]),
        }
        mine = {"IPS": ips(ours), "SNIPS": snips(ours), "DM": dm(ours), "DR": dr(ours)}
        for name, value in theirs.items():
            assert mine[name] == pytest.approx(value, abs=1e-9), name


class TestUnbiased:
    def test_ips_and_dr_over_200_repetitions(self) -> None:
        rng = np.random.default_rng(5)
        logging, target, mean_reward = bandit(rng, 2000)
        truth = float((target * mean_reward).sum(axis=1).mean())  # the contexts are fixed; the logs are redrawn
        q_hat = np.clip(mean_reward + 0.15, 0, 1)  # a biased reward model: DR must stay unbiased, DM must not
        estimates: dict[str, list[float]] = {"IPS": [], "DR": [], "DM": []}
        for _ in range(200):
            logged = logs_of(rng, logging, target, mean_reward, q_hat)
            estimates["IPS"].append(ips(logged))
            estimates["DR"].append(dr(logged))
            estimates["DM"].append(dm(logged))
        for name in ("IPS", "DR"):
            values = np.array(estimates[name])
            half_width = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
            assert abs(values.mean() - truth) < half_width, f"{name}: {values.mean():.4f} vs truth {truth:.4f}"
        dm_values = np.array(estimates["DM"])
        assert abs(dm_values.mean() - truth) > 0.1, "the biased reward model shows in DM (the test can fail)"

    def test_session_pdis_over_200_repetitions(self) -> None:
        """Sessions: a step's reward and the chance to go on depend on the action; truth from the target itself."""
        rng = np.random.default_rng(8)
        actions = 4
        logging = np.array([0.4, 0.3, 0.2, 0.1])
        target = np.array([0.1, 0.2, 0.3, 0.4])
        reward_mean = np.array([0.2, 0.4, 0.6, 0.8])

        def sessions(policy: npt.NDArray[np.float64], count: int) -> tuple[list[int], list[int], list[float]]:
            ids, chosen, rewards = [], [], []
            for session in range(count):
                for _ in range(30):
                    action = int(rng.choice(actions, p=policy))
                    reward = float(rng.random() < reward_mean[action])
                    ids.append(session)
                    chosen.append(action)
                    rewards.append(reward)
                    if rng.random() > 0.3 + 0.6 * reward:  # a liked track keeps the user longer
                        break
            return ids, chosen, rewards

        truth_ids, _, truth_rewards = sessions(target, 40_000)
        truth = 1 + float(np.sum(truth_rewards)) / 40_000
        values = []
        for _ in range(200):
            ids, chosen, rewards = sessions(logging, 300)
            action = np.array(chosen)
            values.append(session_pdis(Logged(np.array(rewards), logging[action], target[action], np.array(ids))))
        mean = float(np.mean(values))
        half_width = 1.96 * float(np.std(values, ddof=1)) / np.sqrt(len(values)) + 0.02  # + the truth's own noise
        assert abs(mean - truth) < half_width, f"PDIS {mean:.4f} vs truth {truth:.4f}"


def test_estimate_all_gives_intervals_around_each_value() -> None:
    rng = np.random.default_rng(2)
    logging, target, mean_reward = bandit(rng, 1500)
    logged = logs_of(rng, logging, target, mean_reward, mean_reward)
    sessions = Logged(logged.reward, logged.propensity, logged.target_probability, np.arange(1500) // 5,
                      logged.q_logged, logged.dm_value)
    found = {e.estimator: e for e in estimate_all(sessions, resamples=100, seed=3)}
    assert set(found) == {"IPS", "SNIPS", "DM", "DR", "session PDIS", "session SNPDIS"}
    for estimate in found.values():
        assert estimate.lower <= estimate.value <= estimate.upper, estimate
