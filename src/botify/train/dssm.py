"""DSSM: a two-tower model in PyTorch, trained from positively listened tracks in the logs.

* User tower: the mean of the user's positive tracks' history embeddings (time > ``positive_time``), then an
  MLP. While training, the target track is left out of its own user's bag.
* Item tower: track id + artist + genre + log popularity embeddings (public catalog), then an MLP.
* Both outputs are L2-normalised; the score is their inner product.
* ``loss="softmax"``: in-batch sampled softmax with temperature (other positives of the batch are the
  negatives). ``loss="triplet"``: the reference's margin loss with uniformly random negatives.
* Early stopping on recall@100 of the last ``validation_fraction`` of each user's interactions.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.nn import functional

from botify.errors import ConfigError
from botify.progress import ProgressCallback
from botify.train.base import IntArray, OfflineModel
from botify.train.dataset import POSITIVE_TIME, Interactions, time_split
from botify.train.determinism import deterministic_torch
from botify.train.metrics import ranking_metrics
from botify.train.neighbours import indexed_arrays, top_k_for_users
from botify.train.row_gradients import RowGradients
from botify.world.catalog import Catalog

__all__ = ["DSSM"]

logger = logging.getLogger("botify.train")

Loss = Literal["softmax", "triplet"]


def _mlp(dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))


class TwoTower(nn.Module):
    """The two towers over public item features."""

    def __init__(self, catalog: Catalog, dim: int, *, item_id: bool = True, sparse: bool = True) -> None:
        super().__init__()
        self.use_item_id = item_id
        self.sparse = sparse  # the backward pass yields the touched rows only (row_gradients.py); Adam stays dense
        n = catalog.n_tracks
        self.history = nn.EmbeddingBag(n, dim, mode="sum", sparse=sparse)
        self.user_mlp = _mlp(dim)
        self.item_id = nn.Embedding(n, dim, sparse=sparse)
        self.artist = nn.Embedding(catalog.n_artists, dim, sparse=sparse)
        self.genre = nn.Embedding(len(catalog.genre_names), dim, sparse=sparse)
        self.popularity = nn.Linear(1, dim)
        self.item_mlp = _mlp(dim)
        for table in (self.history, self.item_id, self.artist, self.genre):
            nn.init.normal_(table.weight, std=0.1)
        log_pop = np.log(catalog.popularity.astype(np.float64))
        self.artist_of: torch.Tensor
        self.genre_of: torch.Tensor
        self.log_pop: torch.Tensor
        self.register_buffer("artist_of", torch.as_tensor(catalog.artist_id.astype(np.int64)))
        self.register_buffer("genre_of", torch.as_tensor(catalog.genre_id.astype(np.int64)))
        self.register_buffer("log_pop", torch.as_tensor(((log_pop - log_pop.mean()) / log_pop.std())[:, None],
                                                        dtype=torch.float32))

    def items(self, tracks: torch.Tensor) -> torch.Tensor:
        """Item vectors of the given track ids."""
        x = self.artist(self.artist_of[tracks]) + self.genre(self.genre_of[tracks]) + self.popularity(
            self.log_pop[tracks])
        if self.use_item_id:
            x = x + self.item_id(tracks)
        return functional.normalize(self.item_mlp(x), dim=-1)

    def users(self, bag: torch.Tensor, offsets: torch.Tensor, counts: torch.Tensor,
              leave_out: torch.Tensor | None = None) -> torch.Tensor:
        """User vectors from bags of positive tracks (optionally without one track each)."""
        total = self.history(bag, offsets)
        if leave_out is not None:  # an embedding lookup: its backward pass is deterministic, unlike weight[index]'s
            total = total - functional.embedding(leave_out, self.history.weight, sparse=self.sparse)
            counts = counts - 1
        return functional.normalize(self.user_mlp(total / counts.clamp(min=1)[:, None]), dim=-1)


def _same_target_pairs(targets: IntArray) -> tuple[IntArray, IntArray]:
    """Every ``(i, j)``, ``i != j``, with ``targets[i] == targets[j]``: the in-batch logits to mask.

    The same entries as a full ``targets[:, None] == targets[None, :]`` mask off the diagonal, found among the few
    rows whose target repeats instead of over the whole batch squared.
    """
    _, inverse, counts = np.unique(targets, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(counts[inverse] > 1)
    same = targets[shared][:, None] == targets[shared][None, :]
    np.fill_diagonal(same, False)
    first, second = np.nonzero(same)
    return shared[first], shared[second]


class DSSM(OfflineModel):
    """Two-tower candidate generator (see the module docstring).

    Parameters
    ----------
    catalog : the public catalog (ids, artists, genres, popularity feed the item tower).
    dim : width of every embedding and of both towers' MLPs (default 64).
    loss : ``"softmax"`` (in-batch sampled softmax) or ``"triplet"`` (the reference's margin loss).
    epochs : the most epochs to train; early stopping usually ends sooner (default 30).
    batch_size : (user, positive track) pairs per gradient step; with ``"softmax"`` also the number of in-batch
        negatives each pair sees (default 1024).
    lr : AdamW's learning rate (default 3e-3).
    temperature : the softmax's temperature on cosine scores; lower is sharper (default 0.05).
    margin : the triplet loss's margin between the positive's and the negative's cosine (default 0.3).
    patience : epochs without a better validation recall@100 before stopping (default 3).
    positive_time : a listen counts as positive above this listened fraction (default ``POSITIVE_TIME``, 0.8).
    validation_fraction : the latest share of each user's interactions held out for early stopping (default 0.1).
    validation_users : early stopping scores this many of the users with held-out positives, drawn once from
        ``random_state`` (default 2,000; None: all of them). An exact top-100 over the catalog per user and epoch
        cost a third of the evaluation fit with every user of the demo's collection day (10,000).
    item_id : whether the item tower learns an embedding per track id, besides artist, genre and popularity
        (default True; False generalises to tracks the logs never showed).
    weight_decay : AdamW's decoupled weight decay (default 0).
    threads : PyTorch's and faiss's threads; the artifact is the same for the same count (default 2).
    random_state : seed of the initialisation, the shuffles and the negatives (default 0).
    progress : ``progress("DSSM", epoch, epochs)`` after every epoch (``botify.progress``); None is silent.
    fixed_epochs : train exactly this many epochs on all the data, without validation (the final refit).
    sparse_gradients : embeddings' backward pass yields only the touched rows (default True; False is the
        slower dense path, kept to check that both give the same model).
    """

    name = "dssm"

    def __init__(self, catalog: Catalog, *, dim: int = 64, loss: Loss = "softmax", epochs: int = 30,
                 batch_size: int = 1024, lr: float = 3e-3, temperature: float = 0.05, margin: float = 0.3,
                 patience: int = 3, positive_time: float = POSITIVE_TIME, validation_fraction: float = 0.1,
                 validation_users: int | None = 2_000, item_id: bool = True, weight_decay: float = 0.0,
                 threads: int = 2, random_state: int = 0, progress: ProgressCallback | None = None,
                 fixed_epochs: int | None = None, sparse_gradients: bool = True) -> None:
        super().__init__(catalog, random_state=random_state, progress=progress)
        if loss not in ("softmax", "triplet"):
            raise ConfigError(f"`loss` must be one of ['softmax', 'triplet'], got {loss!r}")
        self.dim, self.loss, self.epochs, self.batch_size, self.lr = dim, loss, epochs, batch_size, lr
        self.temperature, self.margin, self.patience = temperature, margin, patience
        self.positive_time, self.validation_fraction, self.threads = positive_time, validation_fraction, threads
        if validation_users is not None and validation_users < 1:
            raise ConfigError(f"`validation_users` must be None or >= 1, got {validation_users}")
        self.validation_users = validation_users
        self.item_id, self.weight_decay = item_id, weight_decay
        self.fixed_epochs = fixed_epochs  # train exactly this many epochs on all the data, without validation
        self.sparse_gradients = sparse_gradients  # False: the embeddings' dense backward pass (the slower path)
        self.history_: list[dict[str, float]] = []
        self.best_epochs_ = 0

    def _params(self) -> dict[str, Any]:
        return {"dim": self.dim, "loss": self.loss, "epochs": self.epochs, "batch_size": self.batch_size,
                "lr": self.lr, "temperature": self.temperature, "margin": self.margin, "patience": self.patience,
                "positive_time": self.positive_time, "validation_fraction": self.validation_fraction,
                "validation_users": self.validation_users,
                "item_id": self.item_id, "weight_decay": self.weight_decay, "threads": self.threads,
                "fixed_epochs": self.fixed_epochs, "sparse_gradients": self.sparse_gradients}

    # -- data -------------------------------------------------------------------------------------------------

    def _bags(self, data: Interactions) -> tuple[IntArray, IntArray, IntArray]:
        """``(users, indptr, tracks)``: distinct positive tracks per user (CSR, users sorted)."""
        positive = data.positives(self.positive_time)
        pairs = np.unique(np.stack([positive.user, positive.track]), axis=1)
        users, starts = np.unique(pairs[0], return_index=True)
        indptr = np.r_[starts, pairs.shape[1]].astype(np.int64)
        return users.astype(np.int64), indptr, pairs[1].astype(np.int64)

    @staticmethod
    def _gather(rows: IntArray, indptr: IntArray, tracks: IntArray) -> tuple[torch.Tensor, ...]:
        lengths = indptr[rows + 1] - indptr[rows]
        offsets = np.r_[0, np.cumsum(lengths)[:-1]]
        flat = np.repeat(indptr[rows] - offsets, lengths) + np.arange(lengths.sum())
        return (torch.as_tensor(tracks[flat]), torch.as_tensor(offsets), torch.as_tensor(lengths, dtype=torch.float32))

    # -- training ---------------------------------------------------------------------------------------------

    def _fit(self, data: Interactions) -> None:
        with deterministic_torch(self.random_state, self.threads):
            self._train(data)

    def _train(self, data: Interactions) -> None:
        rng = np.random.default_rng(self.random_state)
        fixed = self.fixed_epochs is not None
        train, validation = (data, None) if fixed else time_split(data, self.validation_fraction)
        users, indptr, tracks = self._bags(train)
        lengths = np.diff(indptr)
        row_of_pair = np.repeat(np.arange(len(users)), lengths)
        usable = lengths[row_of_pair] >= 2
        pair_rows, pair_tracks = row_of_pair[usable], tracks[usable]
        if len(pair_rows) == 0:
            raise ConfigError("DSSM needs users with at least two positively listened tracks in the logs")
        self.model = TwoTower(self.catalog, self.dim, item_id=self.item_id, sparse=self.sparse_gradients)
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay,
                                      fused=True)  # one kernel per tensor: the dense embedding updates dominate
        rows = RowGradients(self.model.parameters())
        val_positive = self._scored(validation.positives(self.positive_time)) if validation is not None else None
        val_users = np.unique(val_positive.user) if val_positive is not None else None
        best, best_state, waited = -1.0, copy.deepcopy(self.model.state_dict()), 0
        self.history_ = []
        epochs = self.fixed_epochs if self.fixed_epochs is not None else self.epochs
        for epoch in range(epochs):
            self.model.train()
            order = rng.permutation(len(pair_rows))
            losses = []
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                loss = self._batch_loss(pair_rows[batch], pair_tracks[batch], indptr, tracks, rng)
                optimiser.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                with rows.dense():
                    optimiser.step()
                losses.append(float(loss.detach()))
            if fixed:
                self.history_.append({"epoch": epoch, "loss": float(np.mean(losses))})
                self._report(epoch + 1, epochs)
                continue
            assert val_positive is not None and val_users is not None
            self._set_users(users, indptr, tracks)
            recall = ranking_metrics(self._recommend(val_users, 100), val_users, val_positive.user,
                                     val_positive.track).recall
            self.history_.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_recall@100": recall})
            logger.debug("DSSM (%s) epoch %d: val recall@100 %.4f", self.loss, epoch + 1, recall)
            self._report(epoch + 1, epochs)
            if recall > best:
                best, best_state, waited = recall, copy.deepcopy(self.model.state_dict()), 0
                self.best_epochs_ = epoch + 1
            else:
                waited += 1
                if waited >= self.patience:
                    break
        if fixed:
            self.best_epochs_ = len(self.history_)
        else:
            self.model.load_state_dict(best_state)
        self.best_val_recall = best
        self._set_users(*self._bags(data))

    def serve_history(self, data: Interactions) -> bool:
        """Users' vectors from their bags in ``data``: the user tower reads a bag, it learns no user."""
        self._set_users(*self._bags(data))
        return True

    def _scored(self, positive: Interactions) -> Interactions:
        """The held-out positives of the users early stopping scores (``validation_users`` of them)."""
        users = np.unique(positive.user)
        if self.validation_users is None or len(users) <= self.validation_users:
            return positive
        # its own stream: the shuffles and negatives draw from the fit's generator as before
        chosen = np.random.default_rng([self.random_state, 1]).choice(users, self.validation_users, replace=False)
        return positive.take(np.isin(positive.user, chosen))

    def _batch_loss(self, rows: IntArray, targets: IntArray, indptr: IntArray, tracks: IntArray,
                    rng: np.random.Generator) -> torch.Tensor:
        bag, offsets, counts = self._gather(rows, indptr, tracks)
        target = torch.as_tensor(targets)
        user = self.model.users(bag, offsets, counts, leave_out=target)
        item = self.model.items(target)
        if self.loss == "triplet":
            negative = self.model.items(torch.as_tensor(rng.integers(self.catalog.n_tracks, size=len(rows))))
            return functional.relu(self.margin - (user * item).sum(-1) + (user * negative).sum(-1)).mean()
        logits = user @ item.T / self.temperature
        repeated, also = _same_target_pairs(targets)
        if len(repeated):  # another row's positive is this row's own track: not a negative
            # In place: the division keeps nothing for its backward, and a full-batch mask cost a tenth of a step.
            logits.index_put_((torch.as_tensor(repeated), torch.as_tensor(also)), torch.tensor(float("-inf")))
        return functional.cross_entropy(logits, torch.arange(len(rows)))

    # -- inference --------------------------------------------------------------------------------------------

    @torch.no_grad()
    def _set_users(self, users: IntArray, indptr: IntArray, tracks: IntArray) -> None:
        """Compute and keep item vectors and the vectors of ``users`` from their bags."""
        self.model.eval()
        self.item_vectors = self.model.items(torch.arange(self.catalog.n_tracks)).numpy()
        vectors = [self.model.users(*self._gather(np.arange(s, min(s + 4096, len(users))), indptr, tracks)).numpy()
                   for s in range(0, len(users), 4096)]
        self.users_ = users
        self.user_vectors = np.concatenate(vectors) if vectors else np.zeros((0, self.dim), np.float32)

    def _recommend(self, users: IntArray, k: int) -> IntArray:
        return top_k_for_users(self.users_, self.user_vectors, self.item_vectors, users, k, threads=self.threads)

    def export(self, k: int = 100, *, vectors: bool = True, per_artist: int | None = None) -> dict[
            str, npt.NDArray[Any]]:
        """Arrays of an ``indexed`` artifact: every known user's top-``k``, nearest first, and the towers' vectors.

        With ``per_artist``, a list keeps at most that many tracks of one artist (still nearest first).
        """
        return indexed_arrays(self.users_, self.user_vectors, self.item_vectors, k, threads=self.threads,
                              vectors=vectors, per_artist=per_artist, artist_of=self.catalog.artist_id)
