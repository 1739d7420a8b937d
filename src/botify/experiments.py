"""Experiments: named n-way splits of users into arms, each arm mapped to a recommender.

Assignment is the reference rule, bit-compatible with the course's service::

    salt = mmh3.hash(name)                                  # signed 32-bit
    arm  = mmh3.hash(str(user), salt, signed=False) % n     # 0 = "C", then "T1", "T2", ...

Old ``mmh3`` releases took the signed salt and used its 32-bit two's complement as the seed; new releases
reject negative seeds, so we pass ``salt & 0xFFFFFFFF`` — the same bits.

File format (YAML)::

    seed: 31337                 # recommenders' random_state (optional)
    experiments:
      - name: CALIBRATION       # the first experiment routes requests; all are logged
        arms:
          - recommender: random
          - recommender: sticky_artist
          - {recommender: toppop, params: {k: 100}}
    metrics:                    # optional: primary metric, secondary ones, guardrails (metric_plan.py)
      primary: mean_time_per_session
      guardrails: [{metric: mean_request_latency, tolerance: 1.0}]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import mmh3
import numpy as np
import numpy.typing as npt
import yaml

from botify.errors import ConfigError
from botify.metric_plan import MetricPlan
from botify.segment_plan import SegmentPlan
from botify.world.seeding import check_seed

__all__ = ["BUNDLED", "DEFAULT_PLAN", "Arm", "Experiment", "ExperimentPlan", "arm_name", "assign_arm", "default_plan",
           "load_experiments", "plan_or_default"]

# The experiment files that ship with the lab: calibration (the default served plan), exploration (the
# collection day's mix), report (the demo's A/B day), seminar, beyond.
BUNDLED = Path(__file__).parent / "data"
DEFAULT_PLAN = BUNDLED / "calibration.yml"
"""What ``botify serve``, ``botify sim run`` and ``botify demo --calibration`` run when given no experiment file."""


def arm_name(index: int) -> str:
    """``0 → "C"``, ``1 → "T1"``, ..."""
    return "C" if index == 0 else f"T{index}"


def assign_arm(experiment: str, user: int, n_arms: int) -> int:
    """The reference assignment rule for one user."""
    salt = mmh3.hash(experiment) & 0xFFFFFFFF
    return int(mmh3.hash(str(user), salt, signed=False) % n_arms)


@dataclass(frozen=True)
class Arm:
    """One arm: its label and the recommender serving it."""

    label: str
    recommender: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """A named split of users into ``len(arms)`` arms."""

    name: str
    arms: tuple[Arm, ...]

    @cached_property
    def salt(self) -> int:
        """The reference salt, as an unsigned 32-bit seed."""
        return int(mmh3.hash(self.name) & 0xFFFFFFFF)

    def assign(self, user: int) -> int:
        """Arm index of one user."""
        return int(mmh3.hash(str(user), self.salt, signed=False) % len(self.arms))

    def assign_many(self, users: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Arm index of each user (computed once per distinct user)."""
        users = np.asarray(users, dtype=np.int64)
        distinct, inverse = np.unique(users, return_inverse=True)
        arms = np.fromiter((self.assign(int(u)) for u in distinct), dtype=np.int64, count=len(distinct))
        return arms[inverse]


@dataclass(frozen=True)
class ExperimentPlan:
    """All active experiments; the first one routes requests to recommenders."""

    experiments: tuple[Experiment, ...]
    seed: int | None = None
    source: Path | None = None  # the experiment file; import paths of plugins resolve from its folder first
    metrics: MetricPlan = field(default_factory=MetricPlan.default)  # what the routing experiment is judged on
    segments: SegmentPlan = field(default_factory=SegmentPlan.default)  # what `ab analyze --segments` cuts by

    @property
    def directory(self) -> Path | None:
        """The experiment file's folder (``None`` for a plan built in code)."""
        return None if self.source is None else self.source.parent

    @property
    def routing(self) -> Experiment:
        """The experiment whose arms choose the recommender."""
        return self.experiments[0]

    @classmethod
    def from_dict(cls, data: Any, source: str = "experiment file") -> ExperimentPlan:
        """Validate a parsed YAML document."""
        if not isinstance(data, dict) or "experiments" not in data:
            raise ConfigError(f"{source}: expected a mapping with an `experiments` list")
        unknown = sorted(set(data) - {"experiments", "seed", "metrics", "segments"})
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; allowed: ['experiments', 'metrics', 'seed', "
                              "'segments']")
        seed = data.get("seed")
        if seed is not None:
            check_seed(seed, "seed")
        raw = data["experiments"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{source}: `experiments` must be a non-empty list")
        experiments = tuple(_parse_experiment(item, source) for item in raw)
        names = [e.name for e in experiments]
        if len(set(names)) != len(names):
            raise ConfigError(f"{source}: experiment names must be unique, got {names}")
        return cls(experiments=experiments, seed=seed, metrics=MetricPlan.from_dict(data.get("metrics"), source),
                   segments=SegmentPlan.from_dict(data.get("segments"), source))

    @classmethod
    def single(cls, name: str, recommenders: list[str], seed: int | None = None) -> ExperimentPlan:
        """One experiment whose arms are the given recommenders, control first."""
        arms = tuple(Arm(arm_name(i), rec) for i, rec in enumerate(recommenders))
        return cls(experiments=(Experiment(name, arms),), seed=seed)


def _parse_experiment(item: Any, source: str) -> Experiment:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise ConfigError(f"{source}: each experiment needs a non-empty string `name`, got {item!r}")
    name = item["name"]
    arms_raw = item.get("arms")
    if not isinstance(arms_raw, list) or len(arms_raw) < 1:
        raise ConfigError(f"{source}: experiment {name!r} needs a non-empty `arms` list")
    arms = []
    for index, arm in enumerate(arms_raw):
        if isinstance(arm, str):
            arm = {"recommender": arm}
        if not isinstance(arm, dict) or not isinstance(arm.get("recommender"), str):
            raise ConfigError(f"{source}: arm {index} of {name!r} needs a `recommender` name, got {arm!r}")
        params = arm.get("params", {}) or {}
        if not isinstance(params, dict):
            raise ConfigError(f"{source}: `params` of arm {index} of {name!r} must be a mapping, got {params!r}")
        arms.append(Arm(arm_name(index), arm["recommender"], dict(params)))
    return Experiment(name, tuple(arms))


def load_experiments(path: str | Path) -> ExperimentPlan:
    """Read and validate an experiment YAML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    plan = ExperimentPlan.from_dict(data, source=str(path))
    return dataclasses.replace(plan, source=path.resolve())


def default_plan() -> ExperimentPlan:
    """The calibration experiment (Random control, StickyArtist, TopPop): what ``botify serve`` runs by default."""
    return load_experiments(DEFAULT_PLAN)


def plan_or_default(path: str | Path | None) -> ExperimentPlan:
    """The experiment file at ``path``, or the default plan when there is none."""
    return load_experiments(path) if path else default_plan()
