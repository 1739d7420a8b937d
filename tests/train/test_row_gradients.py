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
        rows = RowGradients()
        looked_up, dense = TrackTower(catalog, 8, True, rows=rows), TrackTower(catalog, 8, True)
        dense.load_state_dict(looked_up.state_dict())
        generator = torch.Generator().manual_seed(1)
        for step in range(3):  # repeated tracks in a batch, and a second step after the first one's rows
            tracks = torch.randint(50, (64,), generator=generator) if step < 2 else torch.tensor([7, 7, 7, 8])
            track_loss(looked_up, tracks).backward()  # type: ignore[no-untyped-call]
            dense.zero_grad()
            track_loss(dense, tracks).backward()  # type: ignore[no-untyped-call]
            with rows.dense():
                for ours, reference in zip(looked_up.parameters(), dense.parameters(), strict=True):
                    assert ours.grad is not None and reference.grad is not None
                    assert not ours.grad.is_sparse
                    torch.testing.assert_close(ours.grad, reference.grad, rtol=1e-5, atol=1e-6)
            assert all(parameter.grad is None for parameter in looked_up.parameters())

    def test_a_lookup_gives_the_bits_of_sparse_embeddings_summed(self, catalog: Catalog) -> None:
        """``lookup`` replaced three sparse ``Embedding`` lookups and their sum: the same vectors, the same steps."""
        torch.manual_seed(0)
        tables = [torch.nn.Embedding(rows, 8, sparse=True) for rows in (catalog.n_tracks, catalog.n_artists, 7)]
        copies = [torch.nn.Parameter(table.weight.detach().clone()) for table in tables]
        sparse_rows, lookup_rows = RowGradients([t.weight for t in tables]), RowGradients()
        sparse_adam = torch.optim.Adam([t.weight for t in tables], lr=0.01)
        lookup_adam = torch.optim.Adam(copies, lr=0.01)
        artist_of = torch.as_tensor(catalog.artist_id.astype(np.int64))
        generator = torch.Generator().manual_seed(1)
        for _ in range(3):
            tracks = torch.randint(catalog.n_tracks, (256,), generator=generator)
            indices = [tracks, artist_of[tracks], tracks % 7]
            summed = tables[0](indices[0]) + tables[1](indices[1]) + tables[2](indices[2])
            looked_up = lookup_rows.lookup(copies, indices)
            assert torch.equal(summed, looked_up)
            for vectors, rows, adam in ((summed, sparse_rows, sparse_adam), (looked_up, lookup_rows, lookup_adam)):
                (vectors[:128] * vectors[128:]).sum(-1).pow(2).mean().backward()  # type: ignore[no-untyped-call]
                with rows.dense():
                    adam.step()
        for table, copy in zip(tables, copies, strict=True):
            assert torch.equal(table.weight, copy)

    def test_a_lookup_needs_one_index_per_table(self, catalog: Catalog) -> None:
        with pytest.raises(ValueError, match="one index per table"):
            RowGradients().lookup([torch.nn.Parameter(torch.zeros(3, 2))], [])

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
