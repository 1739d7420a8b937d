"""DSSM's in-batch softmax masks a row's logit for another row with the same target, exactly as a full mask does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional

from botify.train.dataset import Interactions, load_interactions
from botify.train.dssm import DSSM, _same_target_pairs
from botify.world.catalog import Catalog


@pytest.fixture(scope="module")
def data(collection_logs: Path, catalog: Catalog) -> Interactions:
    return load_interactions([collection_logs], catalog.n_tracks)[0]


def full_mask_pairs(targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    same = targets[:, None] == targets[None, :]
    np.fill_diagonal(same, False)
    first, second = np.nonzero(same)
    return first, second


@pytest.mark.parametrize("targets", [np.array([5, 1, 5, 2, 1, 5, 9]), np.arange(6), np.array([3]),
                                     np.random.default_rng(0).integers(0, 40, 300)],
                         ids=["repeats", "distinct", "one", "random"])
def test_pairs_are_the_full_masks_off_diagonal_entries(targets: np.ndarray) -> None:
    found = set(zip(*(a.tolist() for a in _same_target_pairs(targets)), strict=True))
    assert found == set(zip(*(a.tolist() for a in full_mask_pairs(targets)), strict=True))


def test_loss_and_gradients_are_those_of_the_full_mask(catalog: Catalog, data: Interactions) -> None:
    dssm = DSSM(catalog, dim=8, fixed_epochs=1).fit(data)
    users, indptr, tracks = dssm._bags(data)
    rng = np.random.default_rng(1)
    rows = rng.integers(0, len(users), 64)
    targets = tracks[indptr[rows]]  # each row's first positive: users share popular tracks
    targets[::8] = targets[0]  # and several rows surely share one
    assert len(_same_target_pairs(targets)[0]) > 0

    def gradients(loss: torch.Tensor) -> list[torch.Tensor]:
        dssm.model.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        return [p.grad.to_dense().clone() for p in dssm.model.parameters() if p.grad is not None]

    loss = dssm._batch_loss(rows, targets, indptr, tracks, rng)
    ours = (loss.detach().clone(), gradients(loss))

    bag, offsets, counts = dssm._gather(rows, indptr, tracks)
    target = torch.as_tensor(targets)
    logits = dssm.model.users(bag, offsets, counts, leave_out=target) @ dssm.model.items(target).T / dssm.temperature
    logits = logits.masked_fill((target[:, None] == target[None, :]) & ~torch.eye(len(rows), dtype=torch.bool),
                                float("-inf"))
    reference = functional.cross_entropy(logits, torch.arange(len(rows)))
    expected = (reference.detach().clone(), gradients(reference))

    assert torch.equal(ours[0], expected[0])
    assert len(ours[1]) == len(expected[1]) and all(torch.equal(a, b) for a, b in zip(ours[1], expected[1],
                                                                                      strict=True))
