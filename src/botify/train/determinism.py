"""Training as a pure function of (data, catalog, parameters, seed) on a given machine and thread count.

``deterministic_torch(seed, threads)`` seeds PyTorch, fixes its intra-op thread count and turns on
``torch.use_deterministic_algorithms`` for the duration of a fit, then restores what was there. Why it matters:
the backward pass of advanced indexing (``weight[index]``) accumulates into rows with parallel atomic adds on the
CPU, so with two threads the order of float additions — and the bits of every later step — changed from run to
run. Deterministic mode makes PyTorch pick sort-based kernels (or raise for an op that has none), so the same
seed and thread count give the same bits. Across thread counts or machines, reductions (BLAS, OpenMP) may still
round differently: see ``docs/reproducibility.md``.

Deterministic mode also NaN-fills every new tensor before an op writes it. Turning that off changed no bit (our
kernels write what they read) but gained nothing measurable (2026-12-04, 3 epochs on one thread, interleaved:
DSSM 1.02-1.12x, Contextual 0.94-0.99x), so PyTorch's default stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["deterministic_torch"]


@contextmanager
def deterministic_torch(seed: int, threads: int) -> Iterator[None]:
    """Seed torch, use ``threads`` intra-op threads and deterministic kernels inside the block."""
    was_deterministic, was_warn_only = torch.are_deterministic_algorithms_enabled(), \
        torch.is_deterministic_algorithms_warn_only_enabled()
    was_threads = torch.get_num_threads()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
        torch.set_num_threads(was_threads)
