"""The peeking study: each method's decision on one run, and the study end to end on a small world."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from botify.ab.looks import ArmLooks
from botify.ab.peeking import PEEKING_METHODS, peek, summarize
from botify.cli import main
from botify.recipes.peeking import run_plan
from botify.world.config import WorldConfig
from botify.world.generate import write_world


def looks(users: list[int], means: list[float], sd: float = 1.0) -> ArmLooks:
    return ArmLooks(np.array(users), np.array(means), np.full(len(users), sd**2))


def by_method(outcomes: list) -> dict:  # type: ignore[type-arg]
    return {o.method: o for o in outcomes}


def test_a_large_effect_stops_every_method_at_the_first_look() -> None:
    outcome = by_method(peek(looks([500, 1000, 1500], [1.5, 1.5, 1.5]), looks([500, 1000, 1500], [1.0] * 3)))
    assert [outcome[m].stop for m in ("naive", "gst", "gavi", "msprt")] == [0, 0, 0, 0]
    assert outcome["fixed"].stop == 2 and outcome["naive"].estimate == pytest.approx(50.0)


def test_one_lucky_look_stops_only_the_naive_test() -> None:
    # z = 0.5, 2.2, 0.4: Welch calls the middle look, no always-valid interval excludes 0 there
    control = looks([1000, 2000, 3000], [10.0, 10.0, 10.0])
    treatment = looks([1000, 2000, 3000], [10.0 + 0.5 * np.sqrt(2 / 1000), 10.0 + 2.2 * np.sqrt(2 / 2000),
                                           10.0 + 0.4 * np.sqrt(2 / 3000)])
    outcome = by_method(peek(treatment, control))
    assert outcome["naive"].stop == 1
    assert all(outcome[m].stop is None for m in ("gst", "gavi", "msprt", "fixed"))


def test_naive_never_stops_later_than_gst_and_summaries_count() -> None:
    rng = np.random.default_rng(0)
    runs = []
    for _ in range(200):
        users = np.arange(1, 11) * 100
        sums = np.cumsum(rng.normal(0, 1, (2, 10)) * 10, axis=1)  # running sums of 100 unit-variance users a look
        runs.append(peek(looks(users.tolist(), (sums[0] / users).tolist()),
                         looks(users.tolist(), (sums[1] / users).tolist())))
    for run in runs:
        naive, gst = run[0], run[1]
        assert gst.stop is None or (naive.stop is not None and naive.stop <= gst.stop)
    summary = {s.method: s for s in summarize(runs)}
    assert list(summary) == list(PEEKING_METHODS)
    assert summary["naive"].stopped > summary["gst"].stopped  # peeking at 10 looks inflates the error
    assert summary["naive"].rate_low < summary["naive"].rate < summary["naive"].rate_high


EXPERIMENT = """seed: 1
experiments:
  - name: PEEK
    arms: [random, sticky_artist, {recommender: toppop, params: {k: 20}}]
"""


def test_the_study_end_to_end(tmp_path: Path) -> None:
    write_world(tmp_path / "world", WorldConfig(n_tracks=3000, n_users=1500, return_model=True), seed=2)
    (tmp_path / "plan.yml").write_text(EXPERIMENT)
    result = CliRunner().invoke(main, ["ab", "peeking", "--world", str(tmp_path / "world"), "--experiment",
                                       str(tmp_path / "plan.yml"), "--days", "4", "--runs", "6", "--ab-runs", "3",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## A/A: false positives" in report and "| naive Welch, every day | " in report
    assert report.count("| T") == 3  # three pairs of three arms
    sticky = next(line for line in report.splitlines() if line.startswith("| T1 vs C: sticky_artist vs random"))
    assert sticky.count("100% · 1.00") == 4  # every peeking method stops it on day 1
    assert 'data-plot="false-positives"' in (tmp_path / "out" / "report.html").read_text()
    assert not (tmp_path / "out" / "artifacts").exists()  # nothing to train for these arms


def test_every_run_is_a_fresh_split_of_the_users() -> None:
    """Runs sharing one split would re-measure the same users' difference: A/A z-values far from N(0, 1)."""
    users = np.arange(10_000)
    first, second = (run_plan([{"recommender": "random"}] * 2, seed).routing.assign_many(users) for seed in (0, 1))
    assert 0.45 < (first != second).mean() < 0.55
