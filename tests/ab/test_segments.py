"""Segments: a planted heterogeneous effect is recovered; a uniform one shows differences only at the error rate."""

from __future__ import annotations

from pathlib import Path

import mmh3
import numpy as np
import pytest
from click.testing import CliRunner

from botify.ab.analyze import analyze_logs
from botify.ab.metrics import UserMetrics
from botify.ab.multiple import benjamini_hochberg
from botify.ab.sections import segment_report
from botify.ab.segments import analyze_segments, segment_labels
from botify.cli import main
from botify.errors import ConfigError
from botify.experiments import load_experiments
from botify.segment_plan import SegmentPlan, SegmentSpec
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import load_sim_world
from botify.world.catalog import load_catalog
from botify.world.config import WorldConfig
from botify.world.generate import write_world

# Sticky artist while the current track is of one of the first three genres, random otherwise: users who start
# in those genres gain a lot, the others little.
PLUGIN = '''
import numpy as np
from botify import Recommender
from botify.recommenders.baselines import RandomRecommender, StickyArtistRecommender


class GenreGated(Recommender):
    name = "genre_gated"

    def __init__(self, catalog, *, random_state=None, genres=(0, 1, 2)):
        super().__init__(catalog, random_state=random_state)
        self.sticky = StickyArtistRecommender(catalog, random_state=random_state)
        self.random = RandomRecommender(catalog, random_state=random_state)
        self.gated = np.isin(catalog.genre_id, list(genres))

    def recommend_batch(self, requests):
        return np.where(self.gated[requests.track], self.sticky.recommend_batch(requests),
                        self.random.recommend_batch(requests))
'''
GENRES = 6
EXPERIMENT = f"""seed: 3
experiments:
  - name: SEG
    arms: [random, {{recommender: "genre_gated:GenreGated"}}]
segments:
  correction: holm
  min_effect: 20%
  of:
    - {{by: first_genre, top: {GENRES}}}
"""


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("segments_world")
    write_world(path, WorldConfig(n_tracks=3000, n_users=6000, n_genres=GENRES), seed=11)
    return path


@pytest.fixture(scope="module")
def gated_logs(world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("segments")
    (root / "genre_gated.py").write_text(PLUGIN)
    (root / "plan.yml").write_text(EXPERIMENT)
    plan = load_experiments(root / "plan.yml")
    log = InProcessLog(plan)
    InProcessAgent(load_sim_world(world_dir), plan, log=log).play(range(12_000), seed=5)
    log.write(root / "logs")
    return root / "logs", root / "plan.yml"


def test_a_planted_heterogeneous_effect_is_recovered(world_dir: Path, gated_logs: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    logs, plan_file = gated_logs
    report_file = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["ab", "analyze", str(logs), "--experiment", "SEG", "--plan", str(plan_file),
                                       "--segments", "--world", str(world_dir), "--out", str(report_file)])
    assert result.exit_code == 0, result.output
    assert "the effect differs between segments" in report_file.read_text()

    analysis = analyze_logs([logs], "SEG", first_tracks=True)
    catalog = load_catalog(world_dir)
    report = segment_report(analysis, load_experiments(plan_file).segments, genre_names=catalog.genre_names,
                            genre_of_track=catalog.genre_id)
    assert report.heterogeneity[0].pvalue < 1e-6
    gated = {catalog.genre_names[g] for g in (0, 1, 2)}
    inside = [row for row in report.rows if row.segment in gated]
    outside = [row for row in report.rows if row.segment not in gated]
    assert len(inside) == 3 and len(outside) == 3
    assert min(row.effect for row in inside) > max(row.effect for row in outside)
    assert all(row.significant for row in inside)  # after Holm over the six rows
    assert all(row.srm_pvalue > 0.001 for row in report.rows)


def test_a_uniform_effect_differs_between_segments_only_at_the_error_rate(world_dir: Path,
                                                                          gated_logs: tuple[Path, Path]) -> None:
    """Re-split the control's users by random salts: the effect is zero in every segment."""
    logs, _ = gated_logs
    analysis = analyze_logs([logs], "SEG", first_tracks=True)
    catalog = load_catalog(world_dir)
    m = analysis.metrics
    rows = m.arm == 0
    assert analysis.first_track is not None
    genre = np.array(catalog.genre_names)[catalog.genre_id[analysis.first_track[rows]]]
    labels = {"first_genre": segment_labels(SegmentSpec("first_genre", top=GENRES), first_genre=genre)}
    names = [str(u) for u in m.user[rows].tolist()]
    runs, differ, any_significant = 400, 0, 0
    for salt in range(runs):
        arm = np.fromiter((mmh3.hash(name, salt, signed=False) & 1 for name in names), dtype=np.int64)
        split = UserMetrics(m.user[rows], arm, m.sessions[rows], m.time[rows], m.tracks[rows], m.latency[rows])
        report = analyze_segments(split, labels, SegmentPlan.default())
        differ += report.heterogeneity[0].pvalue < 0.05
        any_significant += any(row.significant for row in report.rows)
    # at α = 0.05 over 400 runs: 5 % ± 2.2 % (two standard errors)
    assert differ / runs <= 0.075, differ
    assert any_significant / runs <= 0.075, any_significant


def test_pre_period_segments(tmp_path: Path) -> None:
    spec = SegmentSpec("pre_activity", edges=(1, 3))
    sessions = np.array([np.nan, 0, 1, 2, 3, 7])
    assert segment_labels(spec, pre_sessions=sessions).tolist() == [
        "0 sessions", "0 sessions", "1-2 sessions", "1-2 sessions", "3+ sessions", "3+ sessions"]
    assert segment_labels(SegmentSpec("returning"), pre_sessions=sessions).tolist() == [
        "new", "new", "returning", "returning", "returning", "returning"]
    with pytest.raises(ConfigError, match="pre-period logs"):
        segment_labels(spec)


def test_the_segments_block_is_validated() -> None:
    plan = SegmentPlan.from_dict({"correction": "bh", "min_effect": "3%", "of": ["returning", {"by": "first_genre",
                                                                                               "top": 2}]})
    assert plan.correction == "bh" and plan.min_effect == pytest.approx(0.03) and plan.specs[1].top == 2
    for bad, message in [({"of": []}, "non-empty list"), ({"of": ["age"]}, "expected"),
                         ({"of": [{"by": "returning", "top": 3}]}, "unknown key"),
                         ({"of": [{"by": "pre_activity", "edges": [3, 1]}]}, "increasing"),
                         ({"of": ["returning"], "correction": "bonferroni"}, "holm"), ({"by": 1}, "unknown key"),
                         ({"of": ["returning", {"by": "returning"}]}, "each `by` once")]:
        with pytest.raises(ConfigError, match=message):
            SegmentPlan.from_dict(bad)
    assert benjamini_hochberg([0.01, 0.04, 0.03, np.nan]).round(4).tolist()[:3] == [0.03, 0.04, 0.04]
