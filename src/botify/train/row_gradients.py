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

``rows.lookup(tables, indices)`` goes one step further for a sum of lookups (a track's id, artist and genre rows):
one output written in place instead of three gathered copies and two sums, and a backward pass that adds the
output's gradient straight into each table's buffer, in the batch's order, without building sparse tensors. The
additions are the same, in the same order, as ``Embedding`` lookups summed and handed over by ``dense``: the
same bits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["RowGradients"]


class RowGradients:
    """Turns the sparse gradients of ``parameters`` into dense ones for one optimiser step at a time."""

    def __init__(self, parameters: Iterable[torch.nn.Parameter] = ()) -> None:
        self._parameters = list(parameters)
        self._buffers: dict[int, torch.Tensor] = {}
        self._looked_up: dict[int, torch.Tensor] = {}  # tables summed by `lookup`, by id
        self._filled: set[int] = set()  # tables whose buffer a backward pass of `lookup` added to since the step

    def _buffer(self, parameter: torch.Tensor) -> torch.Tensor:
        buffer = self._buffers.get(id(parameter))
        if buffer is None:
            buffer = self._buffers[id(parameter)] = torch.zeros_like(parameter)
        return buffer

    def lookup(self, tables: Sequence[torch.Tensor], indices: Sequence[torch.Tensor]) -> torch.Tensor:
        """``tables[0][indices[0]] + tables[1][indices[1]] + ...``, rows handed to ``dense`` by its backward pass."""
        if not tables or len(tables) != len(indices):
            raise ValueError(f"one index per table, got {len(tables)} tables and {len(indices)} indices")
        for table in tables:
            self._looked_up[id(table)] = table
        output: torch.Tensor = _SummedRows.apply(self, tuple(indices), *tables)  # type: ignore[no-untyped-call]
        return output

    @contextmanager
    def dense(self) -> Iterator[None]:
        """Inside the block every sparse gradient is a dense tensor; afterwards gradients are dropped."""
        touched: list[torch.Tensor] = []
        for key in self._filled:
            buffer = self._buffers[key]
            self._looked_up[key].grad = buffer
            touched.append(buffer)
        for parameter in self._parameters:
            grad = parameter.grad
            if grad is None or not grad.is_sparse:
                continue
            buffer = self._buffer(parameter)
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
            for table in self._looked_up.values():
                table.grad = None
            self._filled.clear()


class _SummedRows(torch.autograd.Function):
    """The forward and backward passes of ``RowGradients.lookup``."""

    @staticmethod
    def forward(ctx: Any, rows: RowGradients, indices: tuple[torch.Tensor, ...], *tables: torch.Tensor) -> torch.Tensor:
        output = tables[0].index_select(0, indices[0])
        for table, index in zip(tables[1:], indices[1:], strict=True):
            output.add_(table.index_select(0, index))
        ctx.rows, ctx.indices, ctx.keys = rows, indices, [id(table) for table in tables]
        ctx.buffers = [rows._buffer(table) for table in tables]
        return output

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, ...]:
        for buffer, index in zip(ctx.buffers, ctx.indices, strict=True):
            buffer.index_add_(0, index, grad)
        ctx.rows._filled.update(ctx.keys)
        return (None, None) + (None,) * len(ctx.buffers)
