"""Offline ranking metrics on held-out positives: recall@k and NDCG@k, averaged over users."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["RankingMetrics", "ranking_metrics"]


@dataclass(frozen=True)
class RankingMetrics:
    """Mean recall@k and NDCG@k over the evaluated users."""

    k: int
    recall: float
    ndcg: float
    users: int

    def to_dict(self) -> dict[str, float]:
        """For manifests."""
        return {f"recall@{self.k}": self.recall, f"ndcg@{self.k}": self.ndcg, "users": self.users}


def ranking_metrics(recommended: npt.NDArray[np.int64], users: npt.NDArray[np.int64],
                    held_user: npt.NDArray[np.int64], held_track: npt.NDArray[np.int64]) -> RankingMetrics:
    r"""Score lists ``recommended[i]`` (row i for ``users[i]``) against held-out (user, track) positives.

    Notes
    -----
    For a user with relevant set :math:`R` (distinct held-out tracks) and list :math:`L` of length k:
    recall@k :math:`= |L \cap R| / |R|`; NDCG@k :math:`= \sum_{i: L_i \in R} 1/\log_2(i+2)` divided by the
    ideal :math:`\sum_{i < \min(|R|, k)} 1/\log_2(i+2)`. Users without held-out positives are skipped; users
    with positives but no row count as zero.
    """
    k = recommended.shape[1]
    row_of = {int(u): i for i, u in enumerate(users.tolist())}
    relevant: dict[int, set[int]] = {}
    for u, t in zip(held_user.tolist(), held_track.tolist(), strict=True):
        relevant.setdefault(u, set()).add(t)
    discounts = 1.0 / np.log2(np.arange(k) + 2)
    recalls, ndcgs = [], []
    for user, tracks in relevant.items():
        row = row_of.get(user)
        if row is None:
            recalls.append(0.0)
            ndcgs.append(0.0)
            continue
        hits = np.fromiter((t in tracks for t in recommended[row].tolist()), dtype=np.bool_, count=k)
        recalls.append(hits.sum() / len(tracks))
        ndcgs.append(float(discounts[hits].sum() / discounts[: min(len(tracks), k)].sum()))
    return RankingMetrics(k=k, recall=float(np.mean(recalls)) if recalls else float("nan"),
                          ndcg=float(np.mean(ndcgs)) if ndcgs else float("nan"), users=len(relevant))
