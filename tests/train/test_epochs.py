"""A final fit started before its evaluation ends stops where the evaluation chooses: the bits of one started after."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from botify.train.base import OfflineModel
from botify.train.contextual import Contextual
from botify.train.dataset import Interactions, load_interactions, time_split
from botify.train.dssm import DSSM
from botify.train.epochs import Abandoned, EpochBoard, Follower, Progress, Stop
from botify.world.catalog import Catalog

BOUND = 24

MODELS: dict[str, Callable[..., Any]] = {
    "dssm": lambda catalog, **fit: DSSM(catalog, dim=32, epochs=BOUND, patience=2, show_progress=False, **fit),
    "contextual": lambda catalog, **fit: Contextual(catalog, dim=16, lr=0.01, epochs=BOUND, patience=2,
                                                    show_progress=False, **fit),
}


@pytest.fixture(scope="module")
def data(collection_logs: Path, catalog: Catalog) -> Interactions:
    return load_interactions([collection_logs], catalog.n_tracks)[0]


class ReplayedEvaluation(Follower):
    """Follows an evaluation replayed from its posts: all at once (it ended first), or exactly as far as the fit."""

    def __init__(self, board: EpochBoard, posts: list[Progress], *, as_far_as_the_fit: bool) -> None:
        super().__init__(board, "model")
        self.posts, self.as_far_as_the_fit = posts, as_far_as_the_fit
        self.stops: list[Stop] = []

    def after_epoch(self, epochs: int, state: Callable[[], Any]) -> Stop | None:
        shown = min(epochs, len(self.posts)) if self.as_far_as_the_fit else len(self.posts)
        self.board.post(self.key, self.posts[shown - 1])
        stop = super().after_epoch(epochs, state)
        if stop is not None:
            self.stops.append(stop)
        return stop


def evaluation_posts(model: OfflineModel, train: Interactions) -> tuple[list[Progress], int]:
    """What an evaluation run posts, epoch by epoch, and its best epoch count."""
    posts: list[Progress] = []
    model.on_validated = lambda epochs, best: posts.append(Progress(validated=epochs, best=best))  # type: ignore[attr-defined]
    model.fit(train)
    best: int = model.best_epochs_  # type: ignore[attr-defined]
    posts[-1] = Progress(validated=len(posts), best=best, ended=True)
    return posts, best


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("as_far_as_the_fit", [False, True], ids=["evaluation-ended-first", "fit-ran-past-best"])
def test_a_followed_final_fit_is_the_fit_of_the_best_length(name: str, as_far_as_the_fit: bool, catalog: Catalog,
                                                            data: Interactions, tmp_path: Path) -> None:
    build = MODELS[name]
    posts, best = evaluation_posts(build(catalog), time_split(data, 0.2)[0])
    assert best < len(posts) < BOUND  # stopped early: the evaluation validated epochs past its best one

    follower = ReplayedEvaluation(EpochBoard(tmp_path), posts, as_far_as_the_fit=as_far_as_the_fit)
    followed = build(catalog, fixed_epochs=BOUND)
    followed.follow = follower
    followed.fit(data)
    afterwards = build(catalog, fixed_epochs=best).fit(data)

    [stop] = follower.stops
    assert stop.epochs == followed.best_epochs_ == afterwards.best_epochs_ == best
    assert (stop.state is not None) == as_far_as_the_fit  # ran past the best epoch, then went back to its copy
    if name == "dssm":
        assert followed.history_ == afterwards.history_
    exported, expected = followed.export(), afterwards.export()
    assert exported.keys() == expected.keys()
    for key in expected:
        assert np.array_equal(exported[key], expected[key]), key


@pytest.mark.parametrize("model", [DSSM, Contextual])
def test_patience_zero_stops_at_the_first_epoch_that_does_not_improve(model: Any, catalog: Catalog,
                                                                      data: Interactions) -> None:
    validated: list[tuple[int, int]] = []
    fitted = model(catalog, dim=16, epochs=BOUND, patience=0, show_progress=False)
    fitted.on_validated = lambda epochs, best: validated.append((epochs, best))
    fitted.fit(time_split(data, 0.2)[0])
    *improving, (last, best) = validated
    assert all(epochs == best for epochs, best in improving) and last == best + 1 == fitted.best_epochs_ + 1


class TestBoard:
    def test_a_fit_ahead_of_its_evaluation_waits_for_it(self, tmp_path: Path) -> None:
        board = EpochBoard(tmp_path)
        board.post("dssm", Progress(validated=1, best=1))
        follower = Follower(board, "dssm", poll_seconds=0.01)
        assert follower.after_epoch(1, state=lambda: "state after one epoch") is None
        later = threading.Timer(0.3, board.post, ("dssm", Progress(validated=3, best=1, ended=True)))
        later.start()
        started = time.monotonic()
        stop = follower.after_epoch(2, state=lambda: "state after two epochs")
        assert time.monotonic() - started >= 0.25  # it waited for the evaluation to validate its second epoch
        assert stop == Stop(1, "state after one epoch")

    def test_a_failed_evaluation_abandons_its_followers(self, tmp_path: Path) -> None:
        board = EpochBoard(tmp_path)
        board.post("dssm", Progress(validated=2, best=2))
        assert Follower(board, "dssm").after_epoch(1, state=dict) is None
        board.post("dssm", Progress(failed=True))
        with pytest.raises(Abandoned, match="the evaluation of 'dssm' failed"):
            Follower(board, "dssm").after_epoch(2, state=dict)

    def test_a_stopped_board_ends_the_evaluations_too(self, tmp_path: Path) -> None:
        board = EpochBoard(tmp_path)
        validated = board.validated("contextual")
        validated(1, 1)
        assert board.read("contextual") == Progress(validated=1, best=1)
        board.stop()
        with pytest.raises(Abandoned, match="the run was stopped"):
            validated(2, 1)
