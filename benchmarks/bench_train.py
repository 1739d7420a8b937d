"""Training at default scale: DSSM on one collection day, top-100 export, the demo's training step, replica memory.

Baselines from the same run: ALS on the same data; the report's models with dense embedding gradients against
sparse rows (``botify.train.row_gradients``); the demo's two models trained one after the other with two
threads each (the previous path) against side by side, one thread each (``botify.train.parallel``); and the
memory of a replica serving the calibration experiment (no artifacts); DSSM's step as it was (a full-batch mask
of repeated targets) against today's, same artifact asserted; and DSSM, Contextual and diverse Contextual fitted
again on all the logs after their evaluation (the path until 2026-12-07, ``refit=True``) against served as
evaluated (today's), one thread each, in turn.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from torch.nn import functional

from botify.artifacts import content_hash
from botify.experiments import BUNDLED as DATA
from botify.experiments import load_experiments
from botify.recipes.models import REPORT_MODELS, SEMINAR_MODELS
from botify.service.process import ServiceProcess
from botify.sim.agents import InProcessAgent, InProcessLog
from botify.sim.world import load_sim_world
from botify.train.base import IntArray
from botify.train.contextual import Contextual
from botify.train.dataset import Interactions, load_interactions
from botify.train.dssm import DSSM
from botify.train.parallel import train_side_by_side
from botify.train.pipeline import train_model


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _replica_rss(world_dir: Path, config: Path, artifacts: Path | None, log_dir: Path) -> float:
    extra = ["--artifacts", str(artifacts)] if artifacts else []
    with ServiceProcess(world_dir, config=config, log_dir=log_dir, extra_args=extra) as service:
        assert service.process is not None
        return _rss_mib(service.process.pid)


def demo_training_step(world_dir: Path, data: Interactions, tmp: Path) -> None:
    """The demo's models, one after the other with two threads each, then side by side with one thread each."""
    catalog = load_sim_world(world_dir).catalog
    start = time.perf_counter()
    for name in REPORT_MODELS:
        train_model(name, catalog, data, tmp / "in-turn", seed=1, threads=2)
    in_turn = time.perf_counter() - start
    start = time.perf_counter()
    train_side_by_side(list(REPORT_MODELS), world_dir, data, tmp / "side-by-side", seed=1)
    side_by_side = time.perf_counter() - start
    print(f"the demo's training step ({', '.join(REPORT_MODELS)}): one after the other, 2 threads each (previous) "
          f"{in_turn:.1f} s; side by side, 1 thread each {side_by_side:.1f} s ({in_turn / side_by_side:.2f}x)")


def served_as_evaluated(world_dir: Path, data: Interactions, tmp: Path,
                        names: tuple[str, ...] = ("dssm", "contextual", "contextual-diverse")) -> dict[str, float]:
    """Each model's training, refitted on all the logs (the previous path) and served as evaluated, in turn."""
    catalog = load_sim_world(world_dir).catalog
    ratios = {}
    for name in names:
        seconds = {}
        for refit in (True, False):
            start = time.perf_counter()
            train_model(name, catalog, data, tmp / f"refit-{refit}", seed=1, threads=1, refit=refit)
            seconds[refit] = time.perf_counter() - start
        ratios[name] = seconds[False] / seconds[True]
        print(f"{name}: evaluated, then fitted again on everything (previous) {seconds[True]:.1f} s; served as "
              f"evaluated {seconds[False]:.1f} s ({ratios[name]:.2f}x the time)")
    return ratios


def embedding_gradients(world_dir: Path, data: Interactions, epochs: int = 3) -> None:
    """The report's models, ``epochs`` fixed epochs on one thread: dense embedding backward (previous), sparse rows."""
    catalog = load_sim_world(world_dir).catalog
    for label, build in (("DSSM", DSSM), ("Contextual", Contextual)):
        seconds = {}
        for sparse in (False, True):
            model = build(catalog, threads=1, fixed_epochs=epochs, sparse_gradients=sparse)
            start = time.perf_counter()
            model.fit(data)
            seconds[sparse] = time.perf_counter() - start
        print(f"{label}, {epochs} epochs on one thread: dense embedding gradients (previous) {seconds[False]:.1f} s; "
              f"sparse rows into a dense Adam {seconds[True]:.1f} s ({seconds[False] / seconds[True]:.2f}x)")


def _previous_batch_loss(self: DSSM, rows: IntArray, targets: IntArray, indptr: IntArray, tracks: IntArray,
                         rng: np.random.Generator) -> torch.Tensor:
    """``DSSM._batch_loss`` (softmax) until 2026-12-04: a batch x batch mask of repeated targets, out of place."""
    bag, offsets, counts = self._gather(rows, indptr, tracks)
    target = torch.as_tensor(targets)
    user = self.model.users(bag, offsets, counts, leave_out=target)
    item = self.model.items(target)
    logits = user @ item.T / self.temperature
    same_track = target[:, None] == target[None, :]
    logits = logits.masked_fill(same_track & ~torch.eye(len(rows), dtype=torch.bool), float("-inf"))
    return functional.cross_entropy(logits, torch.arange(len(rows)))


@contextmanager
def _full_batch_mask() -> Iterator[None]:
    today = DSSM._batch_loss
    DSSM._batch_loss = _previous_batch_loss  # type: ignore[method-assign]
    try:
        yield
    finally:
        DSSM._batch_loss = today  # type: ignore[method-assign]


def batch_mask(world_dir: Path, data: Interactions, epochs: int = 3, rounds: int = 2) -> None:
    """DSSM, ``epochs`` fixed epochs on one thread: the full-batch mask (previous) and today's, interleaved.

    Best of ``rounds`` each; both must give the same artifact, bit for bit.
    """
    catalog = load_sim_world(world_dir).catalog
    seconds: dict[bool, list[float]] = {True: [], False: []}
    hashes = set()
    for _ in range(rounds):
        for previous in (True, False):
            model = DSSM(catalog, threads=1, fixed_epochs=epochs)
            with _full_batch_mask() if previous else nullcontext():
                start = time.perf_counter()
                model.fit(data)
                seconds[previous].append(time.perf_counter() - start)
            hashes.add(content_hash(model.export()))
    assert len(hashes) == 1, "the previous step and today's must give the same artifact"
    then, now = min(seconds[True]), min(seconds[False])
    print(f"DSSM, {epochs} epochs on one thread (best of {rounds}, interleaved): a batch x batch mask of repeated "
          f"targets (previous) {then:.1f} s; their pairs masked in place {now:.1f} s ({then / now:.2f}x), "
          "same artifact")


def run(world_dir: Path, collect_episodes: int = 200_000) -> None:
    from botify.train.als import ALS

    console = Console()
    world = load_sim_world(world_dir)
    catalog = world.catalog
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        plan = load_experiments(DATA / "exploration.yml")
        log = InProcessLog(plan)
        InProcessAgent(world, plan, log=log).play(range(collect_episodes), seed=1)
        log.write(tmp / "logs")
        data, _ = load_interactions([tmp / "logs"], catalog.n_tracks)
        positives = int((data.time > 0.8).sum())

        start = time.perf_counter()
        dssm = DSSM(catalog, item_id=False).fit(data)
        dssm_seconds = time.perf_counter() - start
        epochs = len(dssm.history_)
        start = time.perf_counter()
        dssm.export(100)
        export_seconds = time.perf_counter() - start
        start = time.perf_counter()
        ALS(catalog).fit(data)
        als_seconds = time.perf_counter() - start
        print(f"collection day: {collect_episodes:,} episodes, {len(data):,} interactions, {positives:,} positives")
        print(f"DSSM fit: {dssm_seconds:.1f} s for {epochs} epochs = "
              f"{positives * epochs / dssm_seconds:,.0f} positive interactions/s (goal: <= 300 s)")
        print(f"ALS fit on the same data: {als_seconds:.1f} s (DSSM / ALS = {dssm_seconds / als_seconds:.1f}x)")
        print(f"top-100 export for {len(dssm.users_):,} users (faiss flat): {export_seconds:.2f} s (goal: <= 30 s)")
        embedding_gradients(world_dir, data)
        batch_mask(world_dir, data)
        demo_training_step(world_dir, data, tmp)
        served_as_evaluated(world_dir, data, tmp)

        for name in SEMINAR_MODELS:
            train_model(name, catalog, data, tmp / "artifacts")
        bare = _replica_rss(world_dir, DATA / "calibration.yml", None, tmp / "log-bare")
        loaded = _replica_rss(world_dir, DATA / "seminar.yml", tmp / "artifacts", tmp / "log-full")
        print(f"service replica RSS: {loaded:.0f} MiB with every seminar artifact loaded, {bare:.0f} MiB without "
              f"({loaded / bare:.2f}x) (goal: <= 1024 MiB)")
    console.print()
