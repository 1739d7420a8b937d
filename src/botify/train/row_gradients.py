"""Dense Adam over embedding tables whose backward pass yields only the rows a batch touched.

A dense embedding backward allocates and zero-fills a gradient of the whole table on every step (50,000 × 64
floats for a track table: most of a DSSM step, page faults included) and, with deterministic kernels, sorts
the batch's indices per table. With ``sparse=True`` the backward pass is just the touched rows; ``RowGradients``
adds them in order into a zeroed buffer kept across steps, hands that to the optimiser as an ordinary dense
gradient, and zeroes the buffer again after the step. The optimiser still updates every row (Adam's moments
decay everywhere), so this is the dense model, not a lazy variant: only the order in which a row's duplicate
contributions are added differs from the dense kernel.

    rows = RowGradients(model.parameters())
    optimiser.zero_grad()
    loss.backward()
    with rows.dense():
        optimiser.step()
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch

__all__ = ["RowGradients"]


class RowGradients:
    """Turns the sparse gradients of ``parameters`` into dense ones for one optimiser step at a time."""

    def __init__(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        self._parameters = list(parameters)
        self._buffers: dict[int, torch.Tensor] = {}

    @contextmanager
    def dense(self) -> Iterator[None]:
        """Inside the block every sparse gradient is a dense tensor; afterwards gradients are dropped."""
        touched: list[torch.Tensor] = []
        for parameter in self._parameters:
            grad = parameter.grad
            if grad is None or not grad.is_sparse:
                continue
            buffer = self._buffers.get(id(parameter))
            if buffer is None:
                buffer = self._buffers[id(parameter)] = torch.zeros_like(parameter)
            # Uncoalesced rows, added in order: a serial sum, the same bits on every run.
            buffer.index_add_(0, grad._indices()[0], grad._values())
            parameter.grad = buffer
            touched.append(buffer)
        try:
            yield
        finally:
            for buffer in touched:
                buffer.zero_()  # one memset per table: zeroing only the touched rows (index_fill_) was no faster
            for parameter in self._parameters:
                parameter.grad = None
