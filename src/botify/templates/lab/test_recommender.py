"""The promises every recommender in the lab keeps, checked on a small world (run: `pytest`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from botify.testing import Lab

ARM = {"recommender": "recommender:InOrder", "params": {"dssm": "dssm", "max_per_artist": 2}}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return Lab.create(tmp_path_factory.mktemp("lab"), search_path=Path(__file__).parent)


def test_same_seed_same_answers(lab: Lab) -> None:
    lab.assert_reproducible(ARM)


def test_every_answer_is_a_track_of_the_catalog(lab: Lab) -> None:
    lab.assert_in_catalog(ARM)


def test_never_repeats_a_track_within_a_session(lab: Lab) -> None:
    lab.assert_no_repeats_in_session(ARM)


def test_in_process_equals_http(lab: Lab) -> None:
    lab.assert_http_matches_in_process(ARM)


def test_p99_latency_under_two_milliseconds(lab: Lab) -> None:
    lab.assert_latency_below(ARM, p99_ms=2.0)
