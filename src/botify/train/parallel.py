"""Train several built-in models side by side: one process per core, one thread per fit.

The lab's models are small for PyTorch: a second thread speeds one fit up little or not at all (on two cores,
DSSM 86 s → 61 s, Contextual 76 s → 62 s, and 53 s in another run), so two single-threaded fits side by side
finish sooner than the same fits one after the other with two threads each (97 s against 123 s for the
report's two models). Each fit runs single-threaded whether it has a neighbour or not, so its artifact is the
same bits either way.

A model's evaluation run and its final fit are separate tasks: every evaluation is queued first, and the final
fit of a model trained in epochs starts on the first free core while its evaluation is still choosing how long
it should last (``botify.train.epochs``), so a core that has finished one model's evaluation does not sit idle
and the other model's evaluation does not hold up its own final fit.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from botify.ab.logs import LogReadReport
from botify.train.dataset import Interactions
from botify.train.epochs import Abandoned, EpochBoard, Follower, Progress

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
    from botify.train.pipeline import train_model
    from botify.world.catalog import load_catalog

    with threadpool_limits(FIT_THREADS):  # numpy's BLAS too: a neighbour already uses the other core
        result = train_model(name, load_catalog(world_dir), data, out, seed=seed, report=report,
                             show_progress=False, threads=FIT_THREADS)
    return result.describe()


def _evaluate_one(name: str, key: str, world_dir: Path, data: Interactions, seed: int, board: EpochBoard) -> None:
    """A model's evaluation run, its progress and result posted under ``key``."""
    from botify.train.pipeline import evaluate_model, model_spec
    from botify.world.catalog import load_catalog

    started_at = time.time()  # wall clock: the final fit, in another process, reports the model's time from here
    try:
        with threadpool_limits(FIT_THREADS):
            evaluation = evaluate_model(model_spec(name), load_catalog(world_dir), data, seed=seed,
                                        show_progress=False, threads=FIT_THREADS, on_validated=board.validated(key))
    except BaseException:
        board.post(key, Progress(failed=True))
        raise
    board.post(key, Progress(validated=evaluation.best_epochs, best=evaluation.best_epochs, ended=True,
                             result=evaluation.to_dict() | {"started_at": started_at}))


def _finish_one(name: str, key: str, world_dir: Path, data: Interactions, out: Path, seed: int,
                report: LogReadReport | None, board: EpochBoard) -> str:
    """A model's final fit, following its evaluation where it can, then its artifact once the evaluation is in."""
    from botify.train.pipeline import Evaluation, fit_final, follows_epochs, model_spec, save_trained
    from botify.world.catalog import load_catalog

    spec, catalog = model_spec(name), load_catalog(world_dir)
    follow = Follower(board, key) if follows_epochs(spec, catalog) else None
    with threadpool_limits(FIT_THREADS):
        final = fit_final(spec, catalog, data, best_epochs=0, seed=seed, show_progress=False, threads=FIT_THREADS,
                          follow=follow)
        while (progress := board.read(key)).result is None:
            time.sleep(0.1)
        evaluation = Evaluation.from_dict(progress.result)
        final_epochs = getattr(final, "best_epochs_", 0)
        assert follow is None or final_epochs == evaluation.best_epochs, (final_epochs, evaluation.best_epochs)
        result = save_trained(spec, final, evaluation, catalog, data, out, seed=seed, report=report,
                              seconds=time.time() - progress.result["started_at"])
    return result.describe()


def train_side_by_side(names: list[str], world_dir: Path, data: Interactions, out: Path, *, seed: int,
                       report: LogReadReport | None = None, processes: int | None = None,
                       on_trained: Callable[[str, str], None] = lambda name, line: None,
                       overlap: bool = True) -> None:
    """Train the built-in models ``names`` from ``data`` into ``out``, up to ``processes`` at once (default: cores).

    ``on_trained(name, summary)`` is called in this process as each model is saved, in the order they finish.
    With one process (or one model) the fits run here, one after the other, with the same single thread.
    ``overlap=False`` runs each model's evaluation and final fit in turn in one worker (the previous schedule).
    """
    processes = max(1, min(len(names), processes or os.cpu_count() or 1))
    if processes == 1:
        for name in names:
            on_trained(name, _train_one(name, world_dir, data, out, seed, report))
        return
    # spawn, not fork: a forked child of a process that has started OpenMP or PyTorch threads can hang
    with tempfile.TemporaryDirectory(prefix="botify-epochs-") as raw, \
            ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=_exit_with,
                                initargs=(os.getpid(),)) as pool:
        board = EpochBoard(Path(raw))
        evaluations: list[Future[None]] = []
        finals: dict[Future[str], str]
        if overlap:  # every evaluation is taken before any final fit: a final fit waits for a running evaluation
            evaluations = [pool.submit(_evaluate_one, name, str(i), world_dir, data, seed, board)
                           for i, name in enumerate(names)]
            finals = {pool.submit(_finish_one, name, str(i), world_dir, data, out, seed, report, board): name
                      for i, name in enumerate(names)}
        else:
            finals = {pool.submit(_train_one, name, world_dir, data, out, seed, report): name for name in names}
        try:
            every: list[Future[Any]] = [*evaluations, *finals]
            for done in as_completed(every):
                if isinstance(done.exception(), Abandoned):
                    continue  # the failure it follows is raised from its own future
                summary = done.result()
                if done in finals:
                    on_trained(finals[done], summary)
        except BaseException:
            board.stop()
            pool.shutdown(cancel_futures=True)
            raise
