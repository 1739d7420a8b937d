"""Sparse embedding gradients handed to a dense optimiser: the same gradients, the same training, less work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from botify.train.contextual import TrackTower
from botify.train.dataset import Interactions, load_interactions
from botify.train.dssm import DSSM, TwoTower
from botify.train.row_gradients import RowGradients
from botify.world.catalog import Catalog


@pytest.fixture(scope="module")
def data(collection_logs: Path, catalog: Catalog) -> Interactions:
    return load_interactions([collection_logs], catalog.n_tracks)[0]


def track_loss(tower: TrackTower, tracks: torch.Tensor) -> torch.Tensor:
    vectors = tower(tracks)
    return (vectors[: len(tracks) // 2] * vectors[len(tracks) // 2 :]).sum().pow(2)


class TestRowGradients:
    def test_each_step_sees_the_dense_gradient_of_its_own_batch(self, catalog: Catalog) -> None:
        torch.manual_seed(0)
        sparse, dense = TrackTower(catalog, 8, True, sparse=True), TrackTower(catalog, 8, True, sparse=False)
        dense.load_state_dict(sparse.state_dict())
        rows = RowGradients(sparse.parameters())
        generator = torch.Generator().manual_seed(1)
        for step in range(3):  # repeated tracks in a batch, and a second step after the first one's rows
            tracks = torch.randint(50, (64,), generator=generator) if step < 2 else torch.tensor([7, 7, 7, 8])
            track_loss(sparse, tracks).backward()  # type: ignore[no-untyped-call]
            dense.zero_grad()
            track_loss(dense, tracks).backward()  # type: ignore[no-untyped-call]
            with rows.dense():
                for ours, reference in zip(sparse.parameters(), dense.parameters(), strict=True):
                    assert ours.grad is not None and reference.grad is not None
                    assert not ours.grad.is_sparse
                    torch.testing.assert_close(ours.grad, reference.grad, rtol=1e-5, atol=1e-6)
            assert all(parameter.grad is None for parameter in sparse.parameters())

    def test_dssm_learns_the_same_with_either_gradient(self, catalog: Catalog, data: Interactions) -> None:
        def fitted(sparse_gradients: bool) -> DSSM:
            return DSSM(catalog, dim=16, fixed_epochs=2, threads=1,
                        sparse_gradients=sparse_gradients).fit(data)

        sparse, dense = fitted(True), fitted(False)
        assert sparse.get_config()["sparse_gradients"] and not dense.get_config()["sparse_gradients"]
        assert isinstance(sparse.model, TwoTower) and sparse.model.history.sparse and not dense.model.history.sparse
        # only the order of float additions differs: the vectors agree to float32 noise grown over two epochs
        np.testing.assert_allclose(sparse.item_vectors, dense.item_vectors, atol=2e-3)
        assert [h["loss"] for h in sparse.history_] == pytest.approx([h["loss"] for h in dense.history_], rel=1e-3)
