"""Our session recommender on scripted sessions with hand-placed item vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.artifacts import save_artifact
from botify.errors import ConfigError
from botify.recommenders import build_recommender
from botify.recommenders.session import SessionMemory, SessionRecommender
from botify.state import InMemoryStore
from botify.world.catalog import Catalog

DIM = 8


def unit(*axes: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(axes)] = axes
    return vector / np.linalg.norm(vector)


@pytest.fixture(scope="module")
def vectors(catalog: Catalog) -> np.ndarray:
    rng = np.random.default_rng(0)
    items = rng.normal(size=(catalog.n_tracks, DIM)).astype(np.float32) * 0.05
    items[:, 2:] += 1.0  # everything else points away from the first two axes
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    return items


@pytest.fixture(scope="module")
def artifacts(catalog: Catalog, vectors: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("art")
    items = vectors.copy()
    # Two tastes: axis 0 (tracks of the first track's neighbourhood) and axis 1.
    first = 100
    same_artist = [int(t) for t in np.flatnonzero(catalog.artist_id == catalog.artist_id[first]) if t != first]
    other = [int(t) for t in np.flatnonzero(catalog.artist_id != catalog.artist_id[first])[:3]]
    items[first] = unit(1.0)
    for t in same_artist:
        items[t] = unit(1.0, 0.05)
    for t in other:
        items[t] = unit(1.0, 0.2)
    items[200] = unit(0.0, 1.0)
    items[201] = unit(0.7, 1.0)  # between the two tastes
    save_artifact(root, "dssm", "indexed",
                  {"users": np.array([1], dtype=np.int64), "items": np.array([[200, 201]], dtype=np.int32),
                   "user_vectors": np.ones((1, DIM), np.float32), "item_vectors": items}, catalog)
    save_artifact(root, "plain", "indexed", {"users": np.array([1], dtype=np.int64),
                                             "items": np.array([[200, 201]], dtype=np.int32)}, catalog)
    return root


def session(catalog: Catalog, artifacts: Path, **params: float) -> SessionRecommender:
    recommender = build_recommender("session", catalog, {"dssm": "dssm", **params}, artifacts=artifacts,
                                    store=InMemoryStore())
    assert isinstance(recommender, SessionRecommender)
    return recommender


class TestSession:
    def test_follows_the_first_track_not_the_users_list(self, catalog: Catalog, artifacts: Path) -> None:
        rec = session(catalog, artifacts, artist_penalty=0.0)
        choice = rec.recommend(1, 100, 1.0, 0, 0)
        assert choice not in (100, 200, 201) and rec._vectors[choice] @ rec._vectors[100] > 0.95

    def test_artist_penalty_spreads_the_session_over_artists(self, catalog: Catalog, artifacts: Path) -> None:
        same = catalog.artist_id[100]
        loose = session(catalog, artifacts, artist_penalty=0.0)
        strict = session(catalog, artifacts, artist_penalty=1.0)
        if (catalog.artist_id == same).sum() > 1:
            assert catalog.artist_id[loose.recommend(1, 100, 1.0, 0, 0)] == same
        assert catalog.artist_id[strict.recommend(1, 100, 1.0, 0, 0)] != same

    def test_liked_tracks_pull_the_session_and_skipped_ones_do_not(self, catalog: Catalog, artifacts: Path) -> None:
        liked, skipped = session(catalog, artifacts), session(catalog, artifacts)
        for rec in (liked, skipped):
            rec.recommend(1, 100, 1.0, 0, 0)
        # The user's other taste comes up: liked, it pulls the session to 201; skipped, the session stays put.
        assert liked.recommend(1, 200, 1.0, 0, 1) == 201
        assert skipped.recommend(1, 200, 0.0, 0, 1) != 201

    def test_never_repeats_a_track_in_a_session(self, catalog: Catalog, artifacts: Path) -> None:
        rec = session(catalog, artifacts)
        played = [100]
        for step in range(60):
            choice = rec.recommend(1, played[-1], 0.5, 0, step)
            assert choice not in played
            played.append(choice)

    def test_new_session_starts_clean_and_unknown_users_work(self, catalog: Catalog, artifacts: Path) -> None:
        rec = session(catalog, artifacts)
        first = rec.recommend(1, 100, 1.0, 0, 0)
        rec.recommend(1, first, 1.0, 0, 1)
        assert rec.recommend(1, 100, 1.0, 1, 0) == first
        assert rec.recommend(999, 100, 1.0, 0, 0) == first  # not in DSSM: the first track's neighbours only

    def test_memory_round_trip_and_batch_equals_one_by_one(self, catalog: Catalog, artifacts: Path) -> None:
        from botify.recommenders import Requests

        memory = SessionMemory(3, [1, 2, 3], [9, 8], [1.0, 0.25])
        assert SessionMemory.decode(memory.encode()) == memory
        a, b = session(catalog, artifacts), session(catalog, artifacts)
        requests = Requests(np.array([1, 1, 1]), np.array([100, 7, 8]), np.array([1.0, 0.5, 0.0]),
                            np.zeros(3, np.int64), np.arange(3))
        assert a.recommend_batch(requests).tolist() == [
            b.recommend(1, int(t), float(x), 0, int(s)) for t, x, s in
            zip(requests.track, requests.time, requests.step, strict=True)]

    def test_needs_an_artifact_with_vectors(self, catalog: Catalog, artifacts: Path) -> None:
        with pytest.raises(ConfigError, match="no item vectors"):
            build_recommender("session", catalog, {"dssm": "plain"}, artifacts=artifacts)


class TestExportedNeighbours:
    def test_lookup_and_computed_neighbours_give_the_same_sessions(self, catalog: Catalog, tmp_path: Path) -> None:
        from botify.train.neighbours import item_neighbours

        rng = np.random.default_rng(4)
        items = rng.normal(size=(catalog.n_tracks, DIM)).astype(np.float32)
        users = {"users": np.array([1], dtype=np.int64), "items": np.array([[5, 6, 7]], dtype=np.int32),
                 "user_vectors": np.ones((1, DIM), np.float32), "item_vectors": items}
        save_artifact(tmp_path, "computed", "indexed", users, catalog)
        save_artifact(tmp_path, "lookup", "indexed", {**users, "item_neighbours": item_neighbours(items, 100)},
                      catalog)
        found = item_neighbours(items, 100)
        assert not (found == np.arange(catalog.n_tracks)[:, None]).any()  # an item is not its own neighbour
        sessions = []
        for name in ("computed", "lookup"):
            rec = build_recommender("session", catalog, {"dssm": name}, artifacts=tmp_path, store=InMemoryStore())
            played, times = [100], [1.0]
            for step in range(12):
                played.append(rec.recommend(1, played[-1], times[-1], 0, step))
                times.append(0.6 if step % 3 else 0.0)
            sessions.append(played)
        assert sessions[0] == sessions[1]
