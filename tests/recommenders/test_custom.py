"""The report's recommender on scripted sessions: DSSM in order, the drop below T, the fallback, the state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.artifacts import save_artifact
from botify.recommenders import build_recommender
from botify.recommenders.custom import CustomRecommender, SessionMemory
from botify.state import InMemoryStore
from botify.world.catalog import Catalog


@pytest.fixture(scope="module")
def artifacts(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("art")
    save_artifact(root, "dssm", "indexed", {"users": np.array([1], dtype=np.int64),
                                            "items": np.array([[30, 31, 32, 33, 34]], dtype=np.int32)}, catalog)
    lists = np.full((catalog.n_tracks, 2), -1, dtype=np.int32)
    lists[:, 0] = 900
    lists[:, 1] = 901
    save_artifact(root, "ctx", "item_lists", {"lists": lists}, catalog)
    return root


def custom(catalog: Catalog, artifacts: Path, **params: float) -> CustomRecommender:
    recommender = build_recommender("custom", catalog, {"dssm": "dssm", "contextual": "ctx", **params},
                                    random_state=5, artifacts=artifacts, store=InMemoryStore())
    assert isinstance(recommender, CustomRecommender)
    return recommender


class TestCustom:
    def test_takes_dssm_in_order_skipping_played(self, catalog: Catalog, artifacts: Path) -> None:
        rec = custom(catalog, artifacts)
        assert rec.recommend(1, 31, 1.0, 0, 0) == 30  # 31 was the first track: played, so skipped later
        assert rec.recommend(1, 30, 0.9, 0, 1) == 32
        assert rec.recommend(1, 32, 0.5, 0, 2) == 33

    def test_drops_dssm_after_a_track_below_t(self, catalog: Catalog, artifacts: Path) -> None:
        rec = custom(catalog, artifacts, probability=0.0)
        assert rec.recommend(1, 5, 1.0, 0, 0) == 30
        assert rec.recommend(1, 30, 0.05, 0, 1) in (900, 901)  # below T = 0.1: contextual from now on
        assert rec.recommend(1, 900, 0.9, 0, 2) in (900, 901)

    def test_artist_branch_picks_an_unplayed_track_of_the_favourite_artist(self, catalog: Catalog,
                                                                           artifacts: Path) -> None:
        rec = custom(catalog, artifacts, probability=1.0)
        first = 5
        artist = int(catalog.artist_id[first])
        rec.recommend(1, first, 1.0, 0, 0)
        choice = rec.recommend(1, 30, 0.0, 0, 1)
        if catalog.artist_id[30] != artist:
            assert catalog.artist_id[choice] in (artist, catalog.artist_id[30])
            assert choice not in (first, 30)

    def test_ties_between_artists_go_to_the_one_listened_to_longer(self, catalog: Catalog,
                                                                   artifacts: Path) -> None:
        rec = custom(catalog, artifacts, probability=1.0)
        sizes = np.bincount(catalog.artist_id)
        first = next(t for t in range(catalog.n_tracks)
                     if catalog.artist_id[t] != catalog.artist_id[30] and sizes[catalog.artist_id[t]] >= 2)
        rec.recommend(1, first, 1.0, 0, 0)
        choice = rec.recommend(1, 30, 0.0, 0, 1)  # one track each; the first was listened to (1.0), 30 skipped
        assert catalog.artist_id[choice] == catalog.artist_id[first] and choice != first

    def test_p_splits_the_fallback_between_artist_and_contextual(self, catalog: Catalog, artifacts: Path) -> None:
        rec = custom(catalog, artifacts, probability=0.3)
        artist_branch = 0
        sessions = 2000
        for session in range(sessions):
            rec.recommend(1, 5, 1.0, session, 0)
            choice = rec.recommend(1, 30, 0.0, session, 1)  # below T: the fallback decides
            artist_branch += choice not in (900, 901)
        # Binomial(2000, 0.3): sd 20.5, so +-4 sd is +-82.
        assert abs(artist_branch - 0.3 * sessions) < 82

    def test_unknown_users_use_the_fallback(self, catalog: Catalog, artifacts: Path) -> None:
        rec = custom(catalog, artifacts, probability=0.0)
        assert rec.recommend(777, 5, 1.0, 0, 0) in (900, 901)

    def test_a_new_session_starts_clean(self, catalog: Catalog, artifacts: Path) -> None:
        rec = custom(catalog, artifacts)
        rec.recommend(1, 5, 1.0, 0, 0)
        rec.recommend(1, 30, 0.0, 0, 1)
        assert rec.recommend(1, 5, 1.0, 1, 0) == 30  # session 1: DSSM again, from the top

    def test_end_session_and_idle_timeout_forget_the_state(self) -> None:
        store = InMemoryStore(ttl=0.0)
        store.put_state(3, b"x")
        assert store.get_state(3) is None
        store = InMemoryStore()
        store.put_state(3, b"x")
        store.end_session(3)
        assert store.get_state(3) is None

    def test_memory_round_trip(self) -> None:
        memory = SessionMemory(2, 4, True, False, [1, 2], {7: 2}, {7: 1.5})
        assert SessionMemory.decode(memory.encode()) == memory

    def test_batch_equals_one_by_one(self, catalog: Catalog, artifacts: Path) -> None:
        from botify.recommenders import Requests

        a, b = custom(catalog, artifacts), custom(catalog, artifacts)
        requests = Requests(np.array([1, 1, 1, 1]), np.array([5, 30, 32, 31]), np.array([1.0, 0.9, 0.05, 0.5]),
                            np.zeros(4, np.int64), np.arange(4))
        assert a.recommend_batch(requests).tolist() == [
            b.recommend(1, int(t), float(x), 0, int(s)) for t, x, s in
            zip(requests.track, requests.time, requests.step, strict=True)]
