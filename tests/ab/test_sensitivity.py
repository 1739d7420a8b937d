"""The sensitivity study: users needed by each method, the formula checked by resampling, and the study run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from botify.ab.sensitivity import ab_users_needed, interleaving_users_needed, right_share
from botify.cli import main


def test_at_the_users_needed_the_direction_is_right_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 50_000), rng.normal(1.1, 1.2, 50_000)
    needed = ab_users_needed(0.1, 1.0, 1.2)
    assert needed == 2 * math.ceil(1.6448536**2 * (1.0 + 1.44) / 0.01)
    assert right_share(a, b, int(needed), +1, draws=2000) == pytest.approx(0.95, abs=0.015)
    scores = rng.normal(0.05, 0.5, 50_000)
    users = interleaving_users_needed(0.05, 0.5, truth=+0.1)
    assert right_share(scores, None, int(users), +1, draws=2000) == pytest.approx(0.95, abs=0.015)


def test_a_preference_against_the_truth_never_gets_there() -> None:
    assert math.isinf(interleaving_users_needed(-0.05, 0.5, truth=+0.1))
    assert math.isinf(ab_users_needed(0.0, 1.0, 1.0))


EXPERIMENT = """seed: 1
experiments:
  - name: S
    arms: [random, sticky_artist, {recommender: toppop, params: {k: 20}}]
"""


def test_the_study_end_to_end(world_dir: Path, model_artifacts: Path, tmp_path: Path) -> None:
    (tmp_path / "arms.yml").write_text(EXPERIMENT)
    result = CliRunner().invoke(main, ["ab", "sensitivity", "--world", str(world_dir), "--experiment",
                                       str(tmp_path / "arms.yml"), "--artifacts", str(model_artifacts),
                                       "--episodes", "2000", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "out" / "report.md").read_text()
    assert report.count("\n| ") == 1 + 6  # header and the 6 pairs of random, sticky_artist, toppop and custom
    sticky = next(line for line in report.splitlines() if line.startswith("| sticky_artist vs random"))
    assert sticky.endswith("| yes |")  # the large effect: interleaving agrees with the A/B truth
    assert "direction agreement:" in report
    assert 'data-plot="users-needed"' in (tmp_path / "out" / "report.html").read_text()
