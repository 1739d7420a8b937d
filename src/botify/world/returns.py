"""The return model's private part of a world: each user's starting visit probability and expectation.

Present only in worlds generated with ``return_model=true`` (``truth/returns.parquet`` and ``truth/returns.json``).
Its draws come from their own random stream, so turning the model on changes nothing else in the world.
``docs/returns.md`` has the equations that use these numbers (``botify.sim.returns`` plays them).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from botify.errors import WorldError
from botify.world.config import WorldConfig
from botify.world.portable import portable_exp

__all__ = ["ReturnKnobs", "ReturnTruth", "generate_returns", "load_returns"]

_STREAM = 15  # spawn key of the return model's generator: apart from the rest of the world's draws


@dataclass(frozen=True)
class ReturnKnobs:
    """The return model's world knobs (their meaning: ``WorldConfig``, docs/returns.md)."""

    expectation_adaptation: float
    satisfaction_rate: float
    repeat_share: float
    max_sessions_per_day: int
    churn_probability: float
    artist_fatigue: float
    fatigue_recovery: float

    @classmethod
    def from_config(cls, config: WorldConfig) -> ReturnKnobs:
        """The knobs of a world configuration."""
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class ReturnTruth:
    """Per user: the daily visit probability and the expected session time on day 0; and the knobs."""

    visit_probability: npt.NDArray[np.float64]
    expectation: npt.NDArray[np.float64]
    knobs: ReturnKnobs

    def save(self, truth_dir: Path) -> None:
        """Write ``returns.parquet`` and ``returns.json`` into ``truth_dir``."""
        table = pa.table({"user": pa.array(np.arange(len(self.expectation), dtype=np.int32)),
                          "visit_probability": pa.array(self.visit_probability),
                          "expectation": pa.array(self.expectation)})
        pq.write_table(table, truth_dir / "returns.parquet", compression="zstd")
        (truth_dir / "returns.json").write_text(json.dumps(asdict(self.knobs), indent=2, sort_keys=True) + "\n")


def generate_returns(config: WorldConfig, seed: int) -> ReturnTruth | None:
    """Draw the users' starting points, or None when the model is off.

    Visit probability ~ Beta(visit_alpha, visit_beta); expectation = expectation_median x exp(sigma x N(0, 1)).
    """
    if not config.return_model:
        return None
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(_STREAM,))))
    visit = rng.beta(config.visit_alpha, config.visit_beta, size=config.n_users)
    spread = config.expectation_sigma * rng.standard_normal(config.n_users)
    expectation = config.expectation_median * portable_exp(spread)
    return ReturnTruth(visit_probability=visit, expectation=expectation, knobs=ReturnKnobs.from_config(config))


def load_returns(truth_dir: Path, n_users: int) -> ReturnTruth | None:
    """Read the return model of a world's truth directory, or None when the world has none."""
    table_path = truth_dir / "returns.parquet"
    if not table_path.is_file():
        return None
    table = pq.read_table(table_path)
    if table.num_rows != n_users:
        raise WorldError(f"{table_path} has {table.num_rows} users, the world has {n_users}")
    knobs = json.loads((truth_dir / "returns.json").read_text())
    return ReturnTruth(visit_probability=table.column("visit_probability").to_numpy().astype(np.float64),
                       expectation=table.column("expectation").to_numpy().astype(np.float64),
                       knobs=ReturnKnobs(**knobs))
