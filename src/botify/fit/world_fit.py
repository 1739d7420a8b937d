"""Fit a world to logs: the user model's parameters by penalised maximum likelihood, then an ordinary world on disk.

Steps: sessions' interests from their first tracks (``botify.fit.interests``); the taste model
(``botify.fit.model``) by Adam on minibatches of the censored likelihood (``botify.fit.likelihood``) plus the
priors, first on each user's earlier sessions to score the later ones against a trivial baseline, then on every
session for the world; the budget by exact likelihood (``botify.fit.budget``). Only the logs and the public
catalog are read — never a world's ``truth/``.

Why Adam on PyTorch: the parameters are a few million (three embedding tables and two per-user vectors), the
likelihood is non-convex in the embeddings, and its gradient comes from autograd through the censoring; Adam's
per-parameter steps cope with tracks seen once and tracks seen ten thousand times in one minibatch loop.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from botify import __version__
from botify.errors import ConfigError
from botify.fit.budget import BudgetFit, fit_budget
from botify.fit.data import FitData
from botify.fit.interests import Interests, assign_interests, regroup_interests
from botify.fit.model import Priors, TasteModel
from botify.progress import ProgressCallback
from botify.train.determinism import deterministic_torch
from botify.world.catalog import Catalog
from botify.world.folder import write_world_folder
from botify.world.truth import Truth, nearest_by_inner_product

__all__ = ["FitDiagnostics", "FitSettings", "FittedWorld", "check_new_folder", "fit_world", "logs_digest",
           "write_fitted_world"]

logger = logging.getLogger("botify.fit")


@dataclass(frozen=True)
class FitSettings:
    """How the world is fitted (recorded in the fitted world's manifest)."""

    dim: int = 32
    """Dimension of the fitted taste space."""
    interests: int = 3
    """Interest slots per user (the course's users have 3)."""
    neighbours: int = 10
    """A session's first track is drawn from this many tracks nearest its interest (the course's 10)."""
    epochs: int = 25
    """Passes over the earlier sessions' recommendations (the fit that is scored on the later ones)."""
    regroup_epochs: int = 10
    """Passes over the earlier sessions after regrouping the interests in the fitted space."""
    refit_epochs: int = 5
    """Passes over every session's recommendations, starting from that fit: the world's parameters."""
    batch_size: int = 4096
    """Recommendations per Adam step."""
    learning_rate: float = 0.03
    """Adam's step size."""
    holdout: float = 0.2
    """Share of each user's latest sessions scored by the first fit (users with one session keep it)."""
    seed: int = 0
    """Seeds the initial parameters, the minibatches and the interests of users never logged."""
    threads: int = 2
    """PyTorch's intra-op threads; with the seed, the same logs give the same world bit for bit (per machine)."""
    priors: Priors = field(default_factory=Priors)

    def __post_init__(self) -> None:
        for name in ("dim", "interests", "neighbours", "epochs", "regroup_epochs", "refit_epochs",
                     "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"`{name}` must be >= 1, got {getattr(self, name)}")
        if not 0 < self.holdout < 1:
            raise ConfigError(f"`holdout` must be in (0, 1), got {self.holdout}")
        if not self.learning_rate > 0:
            raise ConfigError(f"`learning_rate` must be > 0, got {self.learning_rate}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values."""
        return asdict(self)


@dataclass(frozen=True)
class FitDiagnostics:
    """How well the fit predicts each user's later sessions, against a baseline that ignores user and track.

    Log-likelihoods are means per held-out recommendation; the baseline is the training times' histogram (with
    add-one smoothing over the 101 possible values). Errors compare the fitted world's own answer,
    ``round(sigmoid(z) · γ^c, 2)``, with the logged time; the baseline predicts the training mean.
    """

    train_rows: int
    holdout_rows: int
    holdout_users: int
    log_likelihood: float
    baseline_log_likelihood: float
    mean_absolute_error: float
    baseline_mean_absolute_error: float
    users_better: float
    """Share of held-out users whose mean log-likelihood beats the baseline's."""
    noise: float
    gamma: float
    budget: int
    budget_sessions: int

    def lines(self) -> list[str]:
        """The diagnostics as sentences, for the terminal and the report."""
        return [
            f"held-out log-likelihood per recommendation {self.log_likelihood:.3f} against the baseline's "
            f"{self.baseline_log_likelihood:.3f} ({self.holdout_rows:,} recommendations of {self.holdout_users:,} "
            f"users; the fit is better for {self.users_better:.1%} of them)",
            f"held-out mean absolute error {self.mean_absolute_error:.4f} against the baseline's "
            f"{self.baseline_mean_absolute_error:.4f}",
            f"γ = {self.gamma:.3f}, session budget B = {self.budget} (from {self.budget_sessions:,} finished "
            f"sessions), logit noise σ = {self.noise:.3f}",
        ]


@dataclass(frozen=True)
class FittedWorld:
    """The fitted truth, what it was fitted from and how well it predicts."""

    truth: Truth
    interests: Interests
    diagnostics: FitDiagnostics
    budget: BudgetFit


@dataclass(frozen=True)
class _Rows:
    user: torch.Tensor
    track: torch.Tensor
    interest: torch.Tensor
    artist_count: torch.Tensor
    time: torch.Tensor

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def take(self, index: torch.Tensor) -> _Rows:
        return _Rows(self.user[index], self.track[index], self.interest[index], self.artist_count[index],
                     self.time[index])


def fit_world(data: FitData, catalog: Catalog, settings: FitSettings | None = None,
              progress: ProgressCallback | None = None) -> FittedWorld:
    """Fit the user model to ``data`` (see the module docstring); nothing is written.

    Three fits, each continuing the one before: on each user's earlier sessions with interests grouped by the
    first tracks' artists; on the same sessions regrouped by the first tracks' closeness in the fitted space
    (``regroup_interests``), scored on the later sessions; on every session, for the world.
    """
    settings = settings or FitSettings()
    with deterministic_torch(settings.seed, settings.threads):
        return _fit(data, catalog, settings, progress)


def _fit(data: FitData, catalog: Catalog, settings: FitSettings, progress: ProgressCallback | None) -> FittedWorld:
    later = _later_sessions(data, settings.holdout)
    interests = assign_interests(data, catalog, settings.interests, settings.seed)
    rows, is_later = _rows(data, interests, later)
    logger.info("fitting %s recommendations of %s sessions", f"{len(rows):,}", f"{data.n_sessions:,}")
    train = rows.take(torch.nonzero(~is_later).flatten())
    model = _train(train, catalog, data.n_users, settings, "fit on earlier sessions", progress, settings.epochs)
    interests = regroup_interests(data, model.embeddings(), settings.interests, settings.seed)
    rows, is_later = _rows(data, interests, later)
    train, holdout = rows.take(torch.nonzero(~is_later).flatten()), rows.take(torch.nonzero(is_later).flatten())
    model = _train(train, catalog, data.n_users, settings, "fit on regrouped interests", progress,
                   settings.regroup_epochs, start=model)
    budget = fit_budget(data)
    diagnostics = _diagnose(model, train, holdout, budget)
    for line in diagnostics.lines():
        logger.info("%s", line)
    model = _train(rows, catalog, data.n_users, settings, "fit on every session", progress, settings.refit_epochs,
                   start=model)
    return FittedWorld(truth=_truth(model, interests, budget, settings, diagnostics), interests=interests,
                       diagnostics=diagnostics, budget=budget)


def _rows(data: FitData, interests: Interests, later: npt.NDArray[np.bool_]) -> tuple[_Rows, torch.Tensor]:
    """The recommendations that carry information (repeats are listened 0 whatever the taste), and which are later."""
    played = ~data.row_repeat
    session_interest = interests.session_interest(data)
    rows = _Rows(
        user=torch.as_tensor(data.session_user[data.row_session][played]),
        track=torch.as_tensor(data.row_track[played]),
        interest=torch.as_tensor(session_interest[data.row_session][played]),
        artist_count=torch.as_tensor(data.row_artist_count[played].astype(np.float32)),
        time=torch.as_tensor(data.row_time[played].astype(np.float32)),
    )
    return rows, torch.as_tensor(later[data.row_session][played])


def _later_sessions(data: FitData, share: float) -> npt.NDArray[np.bool_]:
    """Each user's latest ``share`` of sessions (rounded down; a user's only session stays in training)."""
    sessions_of_user = np.bincount(data.session_user, minlength=data.n_users)[data.session_user]
    kept = sessions_of_user - np.floor(sessions_of_user * share).astype(np.int64)
    later: npt.NDArray[np.bool_] = data.session_index >= kept
    return later


def _train(rows: _Rows, catalog: Catalog, n_users: int, settings: FitSettings, stage: str,
           progress: ProgressCallback | None, epochs: int, start: TasteModel | None = None) -> TasteModel:
    """Adam on minibatches of ``rows``: from random parameters, or continuing from ``start`` (left untouched)."""
    generator = torch.Generator().manual_seed(settings.seed)
    model = TasteModel(catalog.genre_id.astype(np.int64), catalog.artist_id.astype(np.int64), n_users,
                       settings.dim, settings.priors, generator, gamma_floor=gamma_floor(rows))
    if start is not None:
        model.load_state_dict(start.state_dict())
        with torch.no_grad():  # the same γ, above the (maybe higher) floor of every row
            share = (float(start.gamma) - model.gamma_floor) / (1.0 - model.gamma_floor)
            model.gamma_logit.fill_(float(torch.logit(torch.tensor(min(max(share, 1e-4), 1 - 1e-4)))))
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    n = len(rows)
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, settings.batch_size):
            batch = rows.take(order[begin : begin + settings.batch_size])
            optimiser.zero_grad()
            log_likelihood = model.log_likelihood(batch.user, batch.track, batch.interest, batch.artist_count,
                                                  batch.time)
            loss = -log_likelihood.mean() - model.log_prior() / n
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
        if progress is not None:
            progress(stage, epoch + 1, epochs)
    return model


def gamma_floor(rows: _Rows) -> float:
    """The smallest ``γ`` the logs allow: ``max (y − 0.005)^{1/c}`` over rows with ``c ≥ 1`` (0 without such rows)."""
    discounted = rows.artist_count > 0
    if not bool(discounted.any()):
        return 0.0
    time, count = rows.time[discounted], rows.artist_count[discounted]
    return float(torch.pow((time - 0.005).clamp(min=0.0), 1.0 / count).max().clamp(max=0.99))


def _diagnose(model: TasteModel, train: _Rows, holdout: _Rows, budget: BudgetFit) -> FitDiagnostics:
    if len(holdout) == 0:
        raise ConfigError("no user has two sessions in the logs: nothing to hold out and score the fit on")
    with torch.no_grad():
        log_likelihood = model.log_likelihood(holdout.user, holdout.track, holdout.interest, holdout.artist_count,
                                              holdout.time).numpy()
        answer = torch.round(torch.sigmoid(model.logit(holdout.user, holdout.track, holdout.interest))
                             * torch.pow(model.gamma, holdout.artist_count) * 100.0).numpy() / 100.0
        noise, gamma = float(torch.exp(model.log_noise)), float(model.gamma)
    train_time, time = train.time.numpy(), holdout.time.numpy()
    histogram = np.bincount(np.rint(train_time * 100).astype(np.int64), minlength=101)[:101] + 1.0
    baseline = np.log(histogram / histogram.sum())[np.rint(time * 100).astype(np.int64)]
    users, user_index = np.unique(holdout.user.numpy(), return_inverse=True)
    per_user = np.bincount(user_index, weights=log_likelihood - baseline) / np.bincount(user_index)
    return FitDiagnostics(
        train_rows=len(train), holdout_rows=len(holdout), holdout_users=len(users),
        log_likelihood=float(log_likelihood.mean()), baseline_log_likelihood=float(baseline.mean()),
        mean_absolute_error=float(np.abs(answer - time).mean()),
        baseline_mean_absolute_error=float(np.abs(train_time.mean() - time).mean()),
        users_better=float((per_user > 0).mean()), noise=noise, gamma=gamma, budget=budget.budget,
        budget_sessions=budget.sessions,
    )


def _truth(model: TasteModel, interests: Interests, budget: BudgetFit, settings: FitSettings,
           diagnostics: FitDiagnostics) -> Truth:
    embeddings = model.embeddings()
    n_users, slots = interests.tracks.shape
    with torch.no_grad():
        bias = model.bias.numpy().astype(np.float64)
        log_sharpness = model.log_sharpness.numpy().astype(np.float64)
        bias[~interests.seen] = float(model.bias_mean)
        log_sharpness[~interests.seen] = float(model.log_sharpness_mean)
        gamma = float(model.gamma)
    nearest = nearest_by_inner_product(embeddings, embeddings[interests.tracks.reshape(-1)], settings.neighbours)
    return Truth(
        embeddings=embeddings,
        interests=interests.tracks.astype(np.int32),
        interest_nearest=nearest.reshape(n_users, slots, settings.neighbours),
        interest_neighbours=np.full(n_users, settings.neighbours, dtype=np.int32),
        consume_bias=bias,
        consume_sharpness=np.exp(log_sharpness),
        session_budget=np.full(n_users, budget.budget, dtype=np.int32),
        artist_discount_gamma=np.full(n_users, gamma, dtype=np.float64),
        manifest={"fitted": True, "settings": settings.to_dict(), "diagnostics": asdict(diagnostics),
                  "users_logged": int(interests.seen.sum()), "botify": __version__},
    )


def logs_digest(files: list[Path]) -> str:
    """SHA-256 over the log files' names and bytes, in the order read."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def write_fitted_world(out: str | Path, catalog: Catalog, fitted: FittedWorld, *, logs: list[Path],
                       summary: dict[str, int]) -> Path:
    """Write ``out/catalog`` (the catalog, copied) and ``out/truth`` (fitted); all or nothing.

    The world is staged beside ``out`` and moved into place when complete (``botify.world.folder``); an ``out``
    that holds anything is refused rather than overwritten.
    """
    out = Path(out)
    check_new_folder(out)
    manifest = {**fitted.truth.manifest, "logs": {"files": [str(p) for p in logs], "sha256": logs_digest(logs),
                                                  **summary}}
    write_world_folder(out, catalog, replace(fitted.truth, manifest=manifest))
    return out


def check_new_folder(out: Path) -> None:
    """Refuse an ``--out`` that holds anything (a fitted world never overwrites one)."""
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"`--out` {out} exists and is not empty: choose a new folder for the fitted world")

