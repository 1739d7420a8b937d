"""Indexed and Contextual recommenders: picks from the list, Random fallback, batch/single parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.artifacts import save_artifact
from botify.recommenders import Requests, build_recommender
from botify.world.catalog import Catalog


@pytest.fixture(scope="module")
def artifacts(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("art")
    save_artifact(root, "users", "indexed", {"users": np.array([1, 2], dtype=np.int64),
                                             "items": np.array([[5, 6, 7], [8, -1, -1]], dtype=np.int32)}, catalog)
    lists = np.full((catalog.n_tracks, 4), -1, dtype=np.int32)
    lists[10] = [11, 12, 13, 14]
    save_artifact(root, "tracks", "item_lists", {"lists": lists}, catalog)
    return root


def batch(users: list[int], tracks: list[int]) -> Requests:
    n = len(users)
    return Requests(np.array(users), np.array(tracks), np.ones(n), np.zeros(n, np.int64), np.arange(n))


class TestListRecommenders:
    def test_indexed(self, catalog: Catalog, artifacts: Path) -> None:
        recommender = build_recommender("indexed", catalog, {"artifact": "users"}, random_state=1,
                                        artifacts=artifacts)
        answers = recommender.recommend_batch(batch([1] * 50 + [2] * 20 + [99] * 20, [0] * 90))
        assert set(answers[:50].tolist()) == {5, 6, 7}
        assert set(answers[50:70].tolist()) == {8}
        assert len(set(answers[70:].tolist())) > 5

    def test_contextual(self, catalog: Catalog, artifacts: Path) -> None:
        recommender = build_recommender("contextual", catalog, {"artifact": "tracks"}, random_state=1,
                                        artifacts=artifacts)
        answers = recommender.recommend_batch(batch([3] * 40 + [3] * 20, [10] * 40 + [20] * 20))
        assert set(answers[:40].tolist()) == {11, 12, 13, 14}
        assert len(set(answers[40:].tolist())) > 5

    @pytest.mark.parametrize(("name", "artifact"), [("indexed", "users"), ("contextual", "tracks")])
    def test_single_equals_batch(self, catalog: Catalog, artifacts: Path, name: str, artifact: str) -> None:
        recommender = build_recommender(name, catalog, {"artifact": artifact}, random_state=3, artifacts=artifacts)
        requests = batch([1, 2, 99, 1, 3, 3], [0, 0, 0, 10, 10, 20])
        expected = recommender.recommend_batch(requests).tolist()
        assert [recommender.recommend(int(u), int(t), 1.0, 0, int(s)) for u, t, s in
                zip(requests.user, requests.track, requests.step, strict=True)] == expected
