"""Models trained on a small world's collection day learn something real (not random)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from botify.artifacts import load_artifact
from botify.errors import ConfigError
from botify.train.base import NotFittedError
from botify.train.contextual import Contextual
from botify.train.dataset import Interactions, load_interactions, time_split
from botify.train.dssm import DSSM
from botify.train.metrics import ranking_metrics
from botify.train.pipeline import train_model
from botify.train.toppop import TopPopModel
from botify.world.catalog import Catalog


@pytest.fixture(scope="module")
def data(collection_logs: Path, catalog: Catalog) -> Interactions:
    return load_interactions([collection_logs], catalog.n_tracks)[0]


def recall(model: object, test: Interactions) -> float:
    positive = test.positives()
    users = np.unique(positive.user)
    return ranking_metrics(model.recommend(users, 100), users, positive.user, positive.track).recall  # type: ignore[attr-defined]


class TestOfflineModels:
    def test_dssm_beats_chance_and_toppop(self, catalog: Catalog, data: Interactions) -> None:
        train, test = time_split(data, 0.2)
        dssm = DSSM(catalog, epochs=8, dim=32).fit(train)
        chance = 100 / catalog.n_tracks
        assert recall(dssm, test) > 5 * chance
        assert recall(dssm, test) > 2 * recall(TopPopModel(catalog).fit(train), test)

    def test_triplet_variant_trains_too(self, catalog: Catalog, data: Interactions) -> None:
        train, test = time_split(data, 0.2)
        dssm = DSSM(catalog, loss="triplet", epochs=5, dim=32).fit(train)
        assert recall(dssm, test) > 3 * 100 / catalog.n_tracks

    def test_recommend_before_fit(self, catalog: Catalog) -> None:
        with pytest.raises(NotFittedError, match="DSSM isn't fitted, call method `fit` first."):
            DSSM(catalog).recommend([1], 10)

    def test_bad_parameters(self, catalog: Catalog) -> None:
        with pytest.raises(ConfigError, match=r"`loss` must be one of \['softmax', 'triplet'\]"):
            DSSM(catalog, loss="hinge")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=r"`validation_users` must be None or >= 1, got 0"):
            DSSM(catalog, validation_users=0)

    def test_early_stopping_scores_a_sample_of_users_without_touching_the_fits_draws(
            self, catalog: Catalog, data: Interactions) -> None:
        train, _ = time_split(data, 0.2)
        held = train.positives()
        sampled = DSSM(catalog, validation_users=50)._scored(held)
        assert len(np.unique(sampled.user)) == 50 and set(sampled.user) <= set(held.user)
        np.testing.assert_array_equal(sampled.user, DSSM(catalog, validation_users=50)._scored(held).user)
        every = len(np.unique(held.user))  # as many as there are: all of them, and the same model as None
        with_all = DSSM(catalog, dim=16, epochs=3, validation_users=every).fit(train)
        with_none = DSSM(catalog, dim=16, epochs=3, validation_users=None).fit(train)
        np.testing.assert_array_equal(with_all.item_vectors, with_none.item_vectors)
        some = DSSM(catalog, dim=16, epochs=3, validation_users=50).fit(train)
        assert len(some.history_) == len(with_none.history_)  # the same epochs, so the same shuffles and negatives
        np.testing.assert_array_equal(some.history_[0]["loss"], with_none.history_[0]["loss"])

    @pytest.mark.parametrize("name", ["toppop", "als", "contextual", "contextual-diverse"])
    def test_pipeline_saves_an_artifact_with_metrics(self, name: str, catalog: Catalog, data: Interactions,
                                                     tmp_path: Path) -> None:
        result = train_model(name, catalog, data, tmp_path)
        artifact = load_artifact(tmp_path, name, catalog)
        assert artifact.manifest["metrics"][name]["recall@100"] == result.metrics.recall
        assert artifact.manifest["data_window"]["interactions"] == len(data)
        if name in ("als", "contextual-diverse"):
            assert result.metrics.recall > 3 * result.toppop.recall

    @pytest.mark.parametrize("name", ["dssm", "contextual"])
    def test_the_evaluated_model_is_served_with_every_user_and_context_of_the_logs(
            self, name: str, catalog: Catalog, data: Interactions, tmp_path: Path) -> None:
        train_model(name, catalog, data, tmp_path)
        artifact = load_artifact(tmp_path, name, catalog)
        assert artifact.manifest["refit"] is False and artifact.manifest["parameters"]["fixed_epochs"] is None
        train, _ = time_split(data, 0.2)
        if name == "dssm":  # the towers are the evaluated ones; users' bags come from every line
            evaluated = DSSM(catalog, random_state=0).fit(train)
            np.testing.assert_array_equal(artifact.arrays["item_vectors"], evaluated.item_vectors)
            assert set(np.asarray(artifact.arrays["users"])) == set(np.unique(data.positives().user))
            assert not np.array_equal(artifact.arrays["user_vectors"], evaluated.user_vectors)
        else:
            lists = np.asarray(artifact.arrays["lists"])
            contexts = np.unique(Contextual(catalog).pairs(data)[0])
            assert (lists[contexts, 0] >= 0).all()
            assert len(contexts) > len(np.unique(Contextual(catalog).pairs(train)[0]))

    @pytest.mark.parametrize("name", ["dssm", "contextual"])
    def test_a_refit_trains_as_long_as_the_evaluation_found_best(self, name: str, catalog: Catalog,
                                                                 data: Interactions, tmp_path: Path) -> None:
        train_model(name, catalog, data, tmp_path, refit=True)
        manifest = load_artifact(tmp_path, name, catalog).manifest
        assert manifest["refit"] is True
        assert manifest["parameters"]["fixed_epochs"] >= 1  # the evaluation's best epoch count, for reproduction
        again = DSSM(catalog, dim=32, fixed_epochs=3).fit(data)
        assert [entry["epoch"] for entry in again.history_] == [0, 1, 2] and again.best_epochs_ == 3

    def test_models_without_a_served_history_refit(self, catalog: Catalog, data: Interactions,
                                                   tmp_path: Path) -> None:
        train_model("toppop", catalog, data, tmp_path)
        artifact = load_artifact(tmp_path, "toppop", catalog)
        assert artifact.manifest["refit"] is True
        assert np.asarray(artifact.arrays["popularity"]).sum() == len(data)

    def test_contextual_ranks_a_user_by_the_list_of_their_last_track(self, catalog: Catalog,
                                                                      data: Interactions) -> None:
        model = Contextual(catalog, dim=8, fixed_epochs=1).fit(data)
        users = np.unique(data.user)[:200]
        lists = model.lists(20)
        expected = np.full((len(users), 20), -1, dtype=np.int64)
        for row, user in enumerate(users.tolist()):
            expected[row] = lists[model.last_track_of[user]]
        np.testing.assert_array_equal(model.recommend(users, 20), expected)

    def test_contextual_lists_hold_same_artist_tracks(self, catalog: Catalog, data: Interactions,
                                                      tmp_path: Path) -> None:
        train_model("contextual", catalog, data, tmp_path)
        lists = np.asarray(load_artifact(tmp_path, "contextual", catalog).arrays["lists"])
        rows = np.flatnonzero(lists[:, 0] >= 0)
        same = catalog.artist_id[lists[rows, :5]] == catalog.artist_id[rows][:, None]
        chance = 1 / catalog.n_artists
        assert same.mean() > 20 * chance
