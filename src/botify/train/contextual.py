"""Contextual: item-to-item from session pairs, as the reference trains it.

Every session gives pairs (its first track as the context, each later track as a target) labelled with the
target's listened time; a dot-product model ``context(c) · target(t)`` is fitted with MSE. Three choices go
beyond the reference because its id-only, two-table model gave lists close to random on a collection day
(2 % same-artist tracks, +6.5 % online): a track's vector adds its artist's and genre's embeddings
(``features``), contexts and targets share one table (``shared``: a track then resembles itself and its
artist), and ``negatives`` random targets per pair are fitted to 0. Each
track seen as a context gets its top-``k`` targets by that score (faiss); with ``per_artist`` the list is
diversified by keeping at most that many tracks of one artist (the "diverse contextual").
"""

from __future__ import annotations

import copy
import logging
from contextlib import nullcontext
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from botify.errors import ConfigError
from botify.progress import ProgressCallback
from botify.train.base import IntArray, OfflineModel
from botify.train.dataset import POSITIVE_TIME, Interactions, latest_rows
from botify.train.determinism import deterministic_torch
from botify.train.neighbours import cap_per_artist, capped_top_k, top_k_inner_product
from botify.train.row_gradients import RowGradients
from botify.world.catalog import Catalog

__all__ = ["Contextual"]

logger = logging.getLogger("botify.train")


class TrackTower(nn.Module):
    """A track's vector: its id embedding, plus its artist's and genre's when ``features`` is on."""

    def __init__(self, catalog: Catalog, dim: int, features: bool, *, rows: RowGradients | None = None) -> None:
        super().__init__()
        # rows: the tables' rows are summed by `rows.lookup`, whose backward pass hands the optimiser only the
        # touched rows (see row_gradients.py; Adam stays dense); None: Embedding lookups, dense gradients
        self.rows = rows
        self.track = nn.Embedding(catalog.n_tracks, dim)
        self.features = features
        tables = [self.track]
        if features:
            self.artist = nn.Embedding(catalog.n_artists, dim)
            self.genre = nn.Embedding(len(catalog.genre_names), dim)
            tables += [self.artist, self.genre]
            self.artist_of: torch.Tensor
            self.genre_of: torch.Tensor
            self.register_buffer("artist_of", torch.as_tensor(catalog.artist_id.astype(np.int64)))
            self.register_buffer("genre_of", torch.as_tensor(catalog.genre_id.astype(np.int64)))
        for table in tables:
            nn.init.normal_(table.weight, std=0.1)

    def forward(self, tracks: torch.Tensor) -> torch.Tensor:
        """Vectors of the given track ids."""
        if self.rows is not None:
            if not self.features:
                return self.rows.lookup([self.track.weight], [tracks])
            return self.rows.lookup([self.track.weight, self.artist.weight, self.genre.weight],
                                    [tracks, self.artist_of.index_select(0, tracks),
                                     self.genre_of.index_select(0, tracks)])
        vectors: torch.Tensor = self.track(tracks)
        if self.features:
            vectors = vectors + self.artist(self.artist_of[tracks]) + self.genre(self.genre_of[tracks])
        return vectors


class Contextual(OfflineModel):
    """Item-to-item dot-product model (see the module docstring).

    Parameters
    ----------
    catalog : the public catalog (artists and genres feed the track vectors with ``features``).
    context : which pairs are trained: ``"first"`` (each session's first track → its later tracks, the
        reference), ``"all"`` (every earlier → later pair of a session) or ``"user"`` (each liked track → the
        user's next ten liked tracks, across sessions: the diverse model's).
    features : a track's vector adds its artist's and genre's embeddings to its id's (default True).
    negatives : random targets per pair, fitted to a score of 0 (default 4; 0 is the reference's plain MSE).
    shared : contexts and targets share one table, so a track resembles itself and its artist (default True).
    dim : embedding width (default 32).
    epochs : the most epochs to train; early stopping usually ends sooner (default 40).
    batch_size : pairs per gradient step (default 4096).
    lr : Adam's learning rate (default 0.003).
    patience : epochs without a lower validation MSE before stopping (default 4).
    validation_fraction : pairs whose target is in the latest share of its user's interactions are held out
        for early stopping (default 0.1).
    threads : PyTorch's and faiss's threads; the artifact is the same for the same count (default 2).
    random_state : seed of the initialisation, the shuffles and the negatives (default 0).
    progress : ``progress("Contextual", epoch, epochs)`` after every epoch (``botify.progress``); None is silent.
    fixed_epochs : train exactly this many epochs on all the pairs, without validation (the final refit).
    sparse_gradients : embeddings' backward pass yields only the touched rows (default True; False is the
        slower dense path).

    ``lists(k, per_artist=...)`` and ``export`` give each context track's top-``k`` targets; ``per_artist`` keeps
    at most that many tracks of one artist (the diverse model uses 2).
    """

    name = "contextual"

    def __init__(self, catalog: Catalog, *, context: Literal["first", "all", "user"] = "first",
                 features: bool = True, negatives: int = 4, shared: bool = True, dim: int = 32, epochs: int = 40,
                 batch_size: int = 4096, lr: float = 0.003, patience: int = 4, validation_fraction: float = 0.1,
                 threads: int = 2, random_state: int = 0, progress: ProgressCallback | None = None,
                 fixed_epochs: int | None = None, sparse_gradients: bool = True) -> None:
        super().__init__(catalog, random_state=random_state, progress=progress)
        if context not in ("first", "all", "user"):
            raise ConfigError(f"`context` must be one of ['first', 'all', 'user'], got {context!r}")
        self.context, self.features, self.negatives, self.shared = context, features, negatives, shared
        self.dim, self.epochs, self.batch_size, self.lr = dim, epochs, batch_size, lr
        self.patience, self.validation_fraction, self.threads = patience, validation_fraction, threads
        self.fixed_epochs = fixed_epochs  # train exactly this many epochs on all the pairs, without validation
        self.sparse_gradients = sparse_gradients  # False: the embeddings' dense backward pass (the slower path)
        self.best_epochs_ = 0

    def _params(self) -> dict[str, Any]:
        return {"context": self.context, "features": self.features, "negatives": self.negatives,
                "shared": self.shared, "dim": self.dim, "epochs": self.epochs, "batch_size": self.batch_size,
                "lr": self.lr, "patience": self.patience, "validation_fraction": self.validation_fraction,
                "threads": self.threads, "fixed_epochs": self.fixed_epochs, "sparse_gradients": self.sparse_gradients}

    def pairs(self, data: Interactions) -> tuple[IntArray, IntArray, npt.NDArray[np.float64], IntArray]:
        """Training pairs ``(context, target, time, target_row)``; ``target_row`` indexes ``data``.

        ``context="first"``: (first track, later track) of every session (the reference); ``"all"``: every
        (earlier track, later track) pair of a session; ``"user"``: each liked track with the user's next ten
        liked tracks, across sessions.
        """
        if self.context == "all":
            return self._all_pairs(data)
        if self.context == "user":
            return self._user_pairs(data)
        first_rows = np.flatnonzero(data.position == 0)
        first_of_session = dict(zip(data.session[first_rows].tolist(), data.track[first_rows].tolist(), strict=True))
        later = np.flatnonzero(data.position > 0)
        context = np.fromiter((first_of_session.get(s, -1) for s in data.session[later].tolist()), dtype=np.int64,
                              count=len(later))
        keep = context >= 0
        rows = later[keep]
        return context[keep], data.track[rows], data.time[rows], rows

    @staticmethod
    def _all_pairs(data: Interactions) -> tuple[IntArray, IntArray, npt.NDArray[np.float64], IntArray]:
        # For a session of length L, row j (j >= 1) pairs with rows 0..j-1.
        target_rows = np.flatnonzero(data.position > 0)
        per_target = data.position[target_rows]
        context_rows = np.repeat(target_rows - per_target, per_target) + (
            np.arange(per_target.sum()) - np.repeat(np.cumsum(per_target) - per_target, per_target))
        target_rows = np.repeat(target_rows, per_target)
        return data.track[context_rows], data.track[target_rows], data.time[target_rows], target_rows

    @staticmethod
    def _user_pairs(data: Interactions, window: int = 10) -> tuple[IntArray, IntArray, npt.NDArray[np.float64],
                                                                   IntArray]:
        """Each positive track with the user's next ``window`` positive tracks (across sessions, in service order)."""
        rows = np.flatnonzero(data.time > POSITIVE_TIME)
        rows = rows[np.argsort(data.user[rows], kind="stable")]
        user, track, time = data.user[rows], data.track[rows], data.time[rows]
        contexts, targets = [], []
        for shift in range(1, window + 1):
            same_user = user[shift:] == user[:-shift]
            contexts.append(np.flatnonzero(same_user))
            targets.append(np.flatnonzero(same_user) + shift)
        c_rows, t_rows = np.concatenate(contexts), np.concatenate(targets)
        keep = track[c_rows] != track[t_rows]
        c_rows, t_rows = c_rows[keep], t_rows[keep]
        return track[c_rows], track[t_rows], time[t_rows], rows[t_rows]

    def _fit(self, data: Interactions) -> None:
        with deterministic_torch(self.random_state, self.threads):
            self._train(data)

    def _train(self, data: Interactions) -> None:
        rng = np.random.default_rng(self.random_state)
        context, target, label, target_row = self.pairs(data)
        if len(context) == 0:
            raise ConfigError("Contextual needs sessions with at least two tracks in the logs")
        # Validation: pairs whose target is in its user's latest `validation_fraction` of interactions (in the
        # order the service answered them: wall-clock time differs from one run over HTTP to the next).
        if self.fixed_epochs is not None:
            train, valid = np.arange(len(context)), np.zeros(0, np.int64)
        else:
            late = latest_rows(data, self.validation_fraction)
            train, valid = np.flatnonzero(~late[target_row]), np.flatnonzero(late[target_row])
        n = self.catalog.n_tracks  # negatives are uniform over the catalog
        rows = RowGradients() if self.sparse_gradients else None
        self.context_tower = TrackTower(self.catalog, self.dim, self.features, rows=rows)
        self.target_tower = self.context_tower if self.shared else TrackTower(self.catalog, self.dim, self.features,
                                                                               rows=rows)
        params = list(self.context_tower.parameters())
        if not self.shared:
            params += list(self.target_tower.parameters())
        # fused: one kernel per tensor (the dense updates of the embedding tables dominate a step)
        optimiser = torch.optim.Adam(params, lr=self.lr, fused=True)
        listened = label.astype(np.float32)

        def pairs_of(rows: IntArray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return torch.as_tensor(context[rows]), torch.as_tensor(target[rows]), torch.as_tensor(listened[rows])

        def randoms_for(size: int) -> torch.Tensor | None:
            return torch.as_tensor(rng.integers(n, size=(size, self.negatives))) if self.negatives else None

        def scores(contexts: torch.Tensor, targets: torch.Tensor,
                   randoms: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
            """Each pair's score, and its context's score with each random target."""
            context_vectors, target_vectors, negative_vectors = self._vectors(contexts, targets, randoms)
            prediction = (context_vectors * target_vectors).sum(-1)
            if negative_vectors is None:
                return prediction, None
            return prediction, (context_vectors[:, None, :] * negative_vectors).sum(-1)

        def loss_of(prediction: torch.Tensor, negative: torch.Tensor | None, times: torch.Tensor) -> torch.Tensor:
            loss: torch.Tensor = ((prediction - times) ** 2).mean()
            if negative is not None:
                loss = loss + self.negatives * (negative**2).mean()
            return loss

        @torch.no_grad()
        def validation_loss() -> float:
            """The loss over the held-out pairs, in one draw of their random targets.

            Their scores are computed a batch at a time (each row's are the same bits as in one pass, and a batch's
            vectors stay in cache), then reduced as one.
            """
            contexts, targets, times = pairs_of(valid)
            randoms = randoms_for(len(valid))
            parts = [scores(contexts[batch], targets[batch], None if randoms is None else randoms[batch])
                     for batch in (slice(start, start + self.batch_size)
                                   for start in range(0, len(valid), self.batch_size))]
            negatives = [negative for _, negative in parts if negative is not None]
            return float(loss_of(torch.cat([prediction for prediction, _ in parts]),
                                 torch.cat(negatives) if negatives else None, times))

        best, best_state, waited = float("inf"), self._state(), 0
        epochs = self.fixed_epochs if self.fixed_epochs is not None else self.epochs
        for epoch in range(epochs):
            # the epoch's pairs gathered in their shuffled order at once: batches are then slices, not a
            # gather of scattered rows each
            contexts, targets, times = pairs_of(rng.permutation(train))
            for start in range(0, len(contexts), self.batch_size):
                batch = slice(start, start + self.batch_size)
                loss = loss_of(*scores(contexts[batch], targets[batch], randoms_for(len(times[batch]))),
                               times[batch])
                optimiser.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                with rows.dense() if rows is not None else nullcontext():
                    optimiser.step()
            val = validation_loss() if len(valid) else float(loss.detach())
            logger.debug("Contextual epoch %d: val MSE %.5f", epoch + 1, val)
            self._report(epoch + 1, epochs)
            if self.fixed_epochs is not None:
                continue
            if val < best:
                best, best_state, waited = val, self._state(), 0
                self.best_epochs_ = epoch + 1
            else:
                waited += 1
                if waited >= self.patience:
                    break
        if self.fixed_epochs is not None:
            self.best_epochs_ = epochs
        else:
            self.context_tower.load_state_dict(best_state[0])
            self.target_tower.load_state_dict(best_state[1])
        self.best_val_mse = best
        self._read_history(data, context)

    def serve_history(self, data: Interactions) -> bool:
        """Lists for every track ``data`` shows as a context, and each user's last track in it (read, not learnt)."""
        self._read_history(data, self.pairs(data)[0])
        return True

    def _read_history(self, data: Interactions, context: IntArray) -> None:
        self.seen_contexts = np.unique(context)
        last_rows = np.r_[np.flatnonzero(np.diff(data.user)), len(data) - 1] if len(data) else np.zeros(0, np.int64)
        self.last_track_of = dict(zip(data.user[last_rows].tolist(), data.track[last_rows].tolist(), strict=True))

    def _vectors(self, contexts: torch.Tensor, targets: torch.Tensor, randoms: torch.Tensor | None) -> tuple[
            torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Vectors of a batch's contexts, targets and random targets (``len × negatives``).

        With one shared tower, all three go through it in one call: one lookup, and one dense gradient per
        embedding table instead of three, which is most of a step's cost.
        """
        if not self.shared:
            negatives = self.target_tower(randoms) if randoms is not None else None
            return self.context_tower(contexts), self.target_tower(targets), negatives
        parts = [contexts, targets] + ([randoms.reshape(-1)] if randoms is not None else [])
        vectors = self.context_tower(torch.cat(parts))
        size = len(contexts)
        # split, not slices: its backward pass concatenates the three gradients instead of summing three
        # zero-filled copies of the whole batch's
        context_vectors, target_vectors, negative_rows = torch.split(vectors, [size, size, len(vectors) - 2 * size])
        negatives = negative_rows.reshape(size, -1, vectors.shape[1]) if randoms is not None else None
        return context_vectors, target_vectors, negatives

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return copy.deepcopy(self.context_tower.state_dict()), copy.deepcopy(self.target_tower.state_dict())

    def lists(self, k: int = 50, *, per_artist: int | None = None, pool: int = 500) -> npt.NDArray[np.int32]:
        """Top-``k`` targets for every track seen as a context (``-1`` rows for the others)."""
        out = np.full((self.catalog.n_tracks, k), -1, dtype=np.int32)
        out[self.seen_contexts] = self._lists_of(self.seen_contexts, k, per_artist, pool)
        return out

    def _lists_of(self, tracks: IntArray, k: int, per_artist: int | None, pool: int) -> npt.NDArray[np.int32]:
        """The rows of ``lists`` for these context tracks (each query's nearest do not depend on the others)."""
        with torch.no_grad():
            contexts = self.context_tower(torch.as_tensor(tracks)).numpy()
            targets = self.target_tower(torch.arange(self.catalog.n_tracks)).numpy()
        if per_artist is None:
            candidates = top_k_inner_product(targets, contexts, k + 1, threads=self.threads)
            return cap_per_artist(candidates, self.catalog.artist_id, k, k + 1, exclude=tracks)
        return capped_top_k(targets, contexts, k, per_artist=per_artist, artist_of=self.catalog.artist_id,
                            pool=pool + 1, exclude=tracks, threads=self.threads)

    def _recommend(self, users: IntArray, k: int) -> IntArray:
        """Offline view: each user gets the list of the last track they played (only those tracks are searched)."""
        last = np.array([self.last_track_of.get(user, -1) for user in users.tolist()], dtype=np.int64)
        listed = np.isin(last, self.seen_contexts)
        tracks, row_of = np.unique(last[listed], return_inverse=True)
        out = np.full((len(users), k), -1, dtype=np.int64)
        out[listed] = self._lists_of(tracks, k, None, 0)[row_of]
        return out

    def export(self, k: int = 50, per_artist: int | None = None) -> dict[str, npt.NDArray[Any]]:
        """Arrays of an ``item_lists`` artifact."""
        return {"lists": self.lists(k, per_artist=per_artist)}
