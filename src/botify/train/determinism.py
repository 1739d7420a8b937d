"""Training as a pure function of (data, catalog, parameters, seed) on a given machine and thread count.

``deterministic_torch(seed, threads)`` seeds PyTorch, fixes its intra-op thread count and turns on
``torch.use_deterministic_algorithms`` for the duration of a fit, then restores what was there. Why it matters:
the backward pass of advanced indexing (``weight[index]``) accumulates into rows with parallel atomic adds on the
CPU, so with two threads the order of float additions — and the bits of every later step — changed from run to
run. Deterministic mode makes PyTorch pick sort-based kernels (or raise for an op that has none), so the same
seed and thread count give the same bits. Across thread counts or machines, reductions (BLAS, OpenMP) may still
round differently: see ``docs/reproducibility.md``.

Deterministic mode also makes PyTorch fill every new tensor with NaN (or an integer's largest value) before an op
writes it, so that a kernel reading memory it never wrote gives the same bits each run. The kernels these fits use
write every element they read, so the fill changes no bit (``tests/train/test_reproducibility.py`` trains with
and without it) and was pure cost, mostly refilling the batch's logits matrix each step: without it DSSM's epochs
ran 1.10x faster and Contextual's 1.02x (``benchmarks/bench_train.py``, 2026-12-04). ``FILL_UNINITIALIZED_MEMORY``
turns it off inside the block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.utils.deterministic

__all__ = ["FILL_UNINITIALIZED_MEMORY", "deterministic_torch"]

FILL_UNINITIALIZED_MEMORY = False
"""``torch.utils.deterministic.fill_uninitialized_memory`` inside the block (PyTorch's default is True)."""


@contextmanager
def deterministic_torch(seed: int, threads: int) -> Iterator[None]:
    """Seed torch, use ``threads`` intra-op threads and deterministic kernels inside the block."""
    was_deterministic, was_warn_only = torch.are_deterministic_algorithms_enabled(), \
        torch.is_deterministic_algorithms_warn_only_enabled()
    was_threads = torch.get_num_threads()
    was_filling: bool = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.utils.deterministic.fill_uninitialized_memory = FILL_UNINITIALIZED_MEMORY  # type: ignore[attr-defined]
    try:
        yield
    finally:
        torch.utils.deterministic.fill_uninitialized_memory = was_filling  # type: ignore[attr-defined]
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
        torch.set_num_threads(was_threads)
