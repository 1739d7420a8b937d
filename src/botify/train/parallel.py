"""Train several built-in models side by side: one process per core, one thread per fit.

The lab's models are small for PyTorch: a second thread speeds one fit up little or not at all (on two cores,
DSSM 86 s → 61 s, Contextual 76 s → 62 s, and 53 s in another run), so two single-threaded fits side by side
finish sooner than the same fits one after the other with two threads each (97 s against 123 s for the
report's two models). Each fit runs single-threaded whether it has a neighbour or not, so its artifact is the
same bits either way.

Each model's evaluation and, for a model that is fitted again on all the logs (``train/pipeline.py``), its final
fit run in turn in one worker. Starting a model's final fit on the other core
while its evaluation was still choosing its length (exact: a fit's first b epochs are a b-epoch fit) was built and
measured on 2026-12-04 on the demo's collection day: 131.6-138.1 s this way, 132.0-144.0 s overlapped, four
runs each. No gain, so it was not kept. Nor was scoring DSSM's per-epoch validation (an exact top-100 for every
validation user, a sixth of its fit) on a second thread while its next epoch trained, waiting only when a score
could stop training (same epochs and artifacts, checked): on 2026-12-04 (an AVX-512 machine), demo seed, in turn
80.0 and 82.0 s, aside 81.9 and 77.8 s. DSSM and Contextual then finished together, but three busy threads on two
cores did the same work slower.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from botify.logs.reader import LogReadReport
from botify.train.dataset import Interactions

__all__ = ["train_side_by_side"]

FIT_THREADS = 1
"""Threads of every fit trained here (see the module docstring)."""


def _exit_with(parent: int) -> None:
    """In a worker: exit as soon as the process that started it is gone (killed, not just interrupted)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="botify-exit-with-parent", daemon=True).start()


def _train_one(name: str, world_dir: Path, data: Interactions, out: Path, seed: int,
               report: LogReadReport | None) -> str:
    from threadpoolctl import threadpool_limits

    from botify.train.pipeline import train_model
    from botify.world.catalog import load_catalog

    with threadpool_limits(FIT_THREADS):  # numpy's BLAS too: a neighbour already uses the other core
        result = train_model(name, load_catalog(world_dir), data, out, seed=seed, report=report,
                             threads=FIT_THREADS)
    return result.describe()


def train_side_by_side(names: list[str], world_dir: Path, data: Interactions, out: Path, *, seed: int,
                       report: LogReadReport | None = None, processes: int | None = None,
                       on_trained: Callable[[str, str], None] = lambda name, line: None) -> None:
    """Train the built-in models ``names`` from ``data`` into ``out``, up to ``processes`` at once (default: cores).

    ``on_trained(name, summary)`` is called in this process as each model is saved, in the order they finish.
    With one process (or one model) the fits run here, one after the other, with the same single thread.
    """
    processes = max(1, min(len(names), processes or os.cpu_count() or 1))
    if processes == 1:
        for name in names:
            on_trained(name, _train_one(name, world_dir, data, out, seed, report))
        return
    # spawn, not fork: a forked child of a process that has started OpenMP or PyTorch threads can hang
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=_exit_with,
                             initargs=(os.getpid(),)) as pool:
        running = {pool.submit(_train_one, name, world_dir, data, out, seed, report): name for name in names}
        for done in as_completed(running):
            on_trained(running[done], done.result())
