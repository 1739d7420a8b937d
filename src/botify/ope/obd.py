"""Off-policy evaluation on a real log: the Open Bandit Dataset sample that the ``obp`` package ships.

The Open Bandit Dataset (Saito, Aihara, Matsutani & Narita, "Open Bandit Dataset and Pipeline: towards realistic
and reproducible off-policy evaluation", NeurIPS Datasets and Benchmarks 2021) logs a fashion e-commerce site's
recommendations (ZOZOTOWN): three items shown per impression, each ``item_id`` at a ``position``, a ``click``, and
the logging policy's true probability of that item at that position. Two policies logged it on the same site in the
same week: uniform random and Bernoulli Thompson sampling (BTS). ``obp`` ships 10,000 impressions of each per
campaign (``all``: 80 items). The random log is the logged data, BTS the target: its on-policy value is the click
rate of its own log, and its probabilities are those obp's ``BernoulliTS`` (with the site's prior) computes.

Our estimators (``botify.ope.estimators``) then estimate BTS's click rate from the random log, beside obp's own on
the same inputs (the reward model for DM and DR: the click rate of each item at each position, shrunk toward the
position's rate). Installing ``obp`` (``pip install 'botify[obd]'``) is all it takes: the data comes with it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from botify.errors import ConfigError
from botify.ope.estimators import Estimate, Logged, estimate_all

__all__ = ["CAMPAIGNS", "ObdCheck", "ObdLog", "check_on_obd", "load_obd", "obd_sample_dir"]

CAMPAIGNS = {"all": 80, "men": 34, "women": 46}
"""Each campaign's number of items."""
LEN_LIST = 3
FloatArray = npt.NDArray[np.float64]


def obd_sample_dir() -> Path:
    """Where the installed ``obp`` keeps the sample (found without importing obp)."""
    spec = importlib.util.find_spec("obp")
    if spec is None or spec.origin is None:
        raise ConfigError("the Open Bandit Dataset sample comes with the `obp` package: pip install 'botify[obd]'")
    return Path(spec.origin).parent / "dataset" / "obd"


@dataclass(frozen=True)
class ObdLog:
    """One behaviour policy's impressions: item, position (0-2), click and the logged probability."""

    action: npt.NDArray[np.int64]
    position: npt.NDArray[np.int64]
    reward: FloatArray
    propensity: FloatArray
    n_actions: int


def load_obd(behavior: str, campaign: str = "all") -> ObdLog:
    """The sample of ``behavior`` (``random`` or ``bts``) on ``campaign``."""
    import pandas as pd

    if behavior not in ("random", "bts") or campaign not in CAMPAIGNS:
        raise ConfigError(f"behavior must be random or bts and campaign one of {list(CAMPAIGNS)}, got "
                          f"{behavior!r}, {campaign!r}")
    frame = pd.read_csv(obd_sample_dir() / behavior / campaign / f"{campaign}.csv", index_col=0)
    return ObdLog(frame["item_id"].to_numpy(np.int64), frame["position"].to_numpy(np.int64) - 1,
                  frame["click"].to_numpy(np.float64), frame["propensity_score"].to_numpy(np.float64),
                  CAMPAIGNS[campaign])


def bts_action_dist(campaign: str, rounds: int, *, simulations: int, seed: int) -> FloatArray:
    """BTS's probability of each item at each position, per round (obp's ``BernoulliTS`` with the site's prior)."""
    from obp.policy import BernoulliTS

    policy = BernoulliTS(n_actions=CAMPAIGNS[campaign], len_list=LEN_LIST, is_zozotown_prior=True,
                         campaign=campaign, random_state=seed)
    dist: FloatArray = policy.compute_batch_action_dist(n_sim=simulations, n_rounds=rounds)
    return dist


def click_model(log: ObdLog, *, prior_weight: float = 100.0) -> FloatArray:
    """Click rate of each (item, position), shrunk toward the position's rate by ``prior_weight`` impressions."""
    cell = log.action * LEN_LIST + log.position
    size = log.n_actions * LEN_LIST
    clicks = np.bincount(cell, weights=log.reward, minlength=size).reshape(log.n_actions, LEN_LIST)
    shown = np.bincount(cell, minlength=size).reshape(log.n_actions, LEN_LIST)
    rate = np.array([log.reward[log.position == p].mean() for p in range(LEN_LIST)])
    shrunk: FloatArray = (clicks + prior_weight * rate[None, :]) / (shown + prior_weight)
    return shrunk


@dataclass(frozen=True)
class ObdCheck:
    """BTS's on-policy click rate, our estimates of it from the random log, and obp's on the same inputs."""

    on_policy: float
    ours: list[Estimate]
    obp: dict[str, float]
    impressions: int
    clicks: int

    def relative_error(self, estimator: str) -> float:
        """``|estimate - on-policy| / on-policy`` for one of ours."""
        value = next(e.value for e in self.ours if e.estimator == estimator)
        return abs(value - self.on_policy) / self.on_policy


def check_on_obd(campaign: str = "all", *, simulations: int = 100_000, resamples: int = 200,
                 seed: int = 12345) -> ObdCheck:
    """Estimate BTS's click rate from the random log, ours beside obp's (see the module docstring)."""
    from obp.ope import DirectMethod, DoublyRobust, InverseProbabilityWeighting
    from obp.ope import SelfNormalizedInverseProbabilityWeighting as SelfNormalized

    logged_log, target_log = load_obd("random", campaign), load_obd("bts", campaign)
    rounds = len(logged_log.reward)
    dist = bts_action_dist(campaign, rounds, simulations=simulations, seed=seed)
    q = click_model(logged_log)
    rows = np.arange(rounds)
    target_probability = dist[rows, logged_log.action, logged_log.position]
    dm_value = (dist[rows, :, logged_log.position] * q[:, logged_log.position].T).sum(axis=1)
    logged = Logged(logged_log.reward, logged_log.propensity, target_probability,
                    q_logged=q[logged_log.action, logged_log.position], dm_value=dm_value)
    ours = estimate_all(logged, resamples=resamples, seed=seed)
    inputs = {"reward": logged_log.reward, "action": logged_log.action, "position": logged_log.position,
              "pscore": logged_log.propensity, "action_dist": dist}
    q_all = np.broadcast_to(q[None, :, :], dist.shape)
    theirs = {
        "IPS": float(InverseProbabilityWeighting().estimate_policy_value(**inputs)),
        "SNIPS": float(SelfNormalized().estimate_policy_value(**inputs)),
        "DM": float(DirectMethod().estimate_policy_value(action_dist=dist, estimated_rewards_by_reg_model=q_all,
                                                         position=logged_log.position)),
        "DR": float(DoublyRobust().estimate_policy_value(**inputs, estimated_rewards_by_reg_model=q_all)),
    }
    return ObdCheck(float(target_log.reward.mean()), ours, theirs, rounds, int(logged_log.reward.sum()))
