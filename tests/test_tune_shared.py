"""``botify tune custom --storage``: worker processes sharing one Optuna study, and a killed worker's study resuming."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalRedisBackend
from optuna.trial import TrialState

from botify.cluster.redis_server import RedisServer
from botify.recipes.tune import REPORT_PAIR

STUDY = "shared"


def worker(world_dir: Path, artifacts: Path, storage: str, trials: int, out: Path,
           episodes: int = 4000) -> subprocess.Popen[bytes]:
    """One ``botify tune custom`` process on the shared study, its output in ``out``."""
    command = [sys.executable, "-m", "botify.cli", "tune", "custom", "--world", str(world_dir), "--artifacts",
               str(artifacts), "--trials", str(trials), "--search-episodes", str(episodes), "--confirm-episodes", "300",
               "--storage", storage, "--study", STUDY, "--heartbeat", "1"]
    with out.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})


def complete(storage: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=STUDY, storage=storage).get_trials(states=(TrialState.COMPLETE,))


class TestSharedStudy:
    def test_two_workers_share_the_trials_and_confirm_once(self, world_dir: Path, model_artifacts: Path,
                                                           tmp_path: Path) -> None:
        storage = f"sqlite:///{tmp_path / 'study.db'}"
        outputs = [tmp_path / "a.txt", tmp_path / "b.txt"]
        # Trials long enough (~0.5 s) that a worker starting a few seconds late on a busy machine still gets some.
        workers = [worker(world_dir, model_artifacts, storage, 12, out, episodes=10_000) for out in outputs]
        assert [w.wait(timeout=300) for w in workers] == [0, 0], [o.read_text()[-2000:] for o in outputs]
        trials = complete(storage)
        assert len(trials) >= 12
        points = [(t.params["threshold"], t.params["probability"]) for t in trials]
        assert len(set(points)) == len(points), "no trial was run twice"
        assert points.count(REPORT_PAIR) == 1  # enqueued by worker 0 only
        assert len({t.user_attrs["worker"] for t in trials}) == 2, "both workers ran trials"
        study = optuna.load_study(study_name=STUDY, storage=storage)
        assert study.best_value == max(t.value for t in trials if t.value is not None)
        texts = [out.read_text() for out in outputs]
        confirmed = [text for text in texts if "confirmation day (" in text]
        assert len(confirmed) == 1, "the confirmation day runs once"
        best = study.best_params
        assert f"C = custom T={round(best['threshold'], 3)} P={round(best['probability'], 3)}" in confirmed[0]
        other = next(text for text in texts if text is not confirmed[0])
        assert f"best of the study: trial {study.best_trial.number}" in other

    def test_a_killed_workers_trial_is_run_again_and_the_study_completes(self, world_dir: Path,
                                                                        model_artifacts: Path,
                                                                        tmp_path: Path) -> None:
        storage = f"sqlite:///{tmp_path / 'study.db'}"
        first = worker(world_dir, model_artifacts, storage, 10, tmp_path / "first.txt")
        deadline = time.monotonic() + 120
        killed_trial = None
        while time.monotonic() < deadline and killed_trial is None:
            time.sleep(0.05)
            if "study 'shared' at" not in (tmp_path / "first.txt").read_text():
                continue  # the worker has not finished creating the storage's schema and the study
            trials = optuna.load_study(study_name=STUDY, storage=storage).get_trials()
            # A trial in the middle of its simulation: both points suggested (a kill between its creation and its
            # suggestions would leave a trial with fewer params than its retry gets).
            running = [t for t in trials if t.state == TrialState.RUNNING and len(t.params) == 2]
            if len([t for t in trials if t.state == TrialState.COMPLETE]) >= 2 and running:
                first.send_signal(signal.SIGKILL)
                first.wait()
                killed_trial = running[0].number
        assert killed_trial is not None, "the worker was killed in the middle of a trial"
        left = optuna.load_study(study_name=STUDY, storage=storage).trials[killed_trial]
        assert left.state == TrialState.RUNNING, "the fault happened: a trial was left running"

        second = worker(world_dir, model_artifacts, storage, 10, tmp_path / "second.txt")
        assert second.wait(timeout=300) == 0, (tmp_path / "second.txt").read_text()[-2000:]
        study = optuna.load_study(study_name=STUDY, storage=storage)
        assert study.trials[killed_trial].state == TrialState.FAIL
        trials = complete(storage)
        assert len(trials) >= 10
        retried = [t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed_trial]
        assert len(retried) == 1 and retried[0].params == left.params
        assert "confirmation day (" in (tmp_path / "second.txt").read_text()


def test_workers_share_a_study_on_redis_too(world_dir: Path, model_artifacts: Path, tmp_path: Path,
                                           redis_server: RedisServer) -> None:
    storage = f"redis://127.0.0.1:{redis_server.port}/5"
    outputs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    workers = [worker(world_dir, model_artifacts, storage, 8, out) for out in outputs]
    assert [w.wait(timeout=300) for w in workers] == [0, 0], [o.read_text()[-2000:] for o in outputs]
    journal = optuna.storages.JournalStorage(JournalRedisBackend(storage))
    trials = optuna.load_study(study_name=STUDY, storage=journal).get_trials(states=(TrialState.COMPLETE,))
    points = [(t.params["threshold"], t.params["probability"]) for t in trials]
    assert len(points) >= 8 and len(set(points)) == len(points)
    assert sum("confirmation day (" in out.read_text() for out in outputs) == 1


def test_a_bad_storage_url_is_a_clear_error(world_dir: Path, model_artifacts: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    process = worker(world_dir, model_artifacts, "nosuchdb://x", 2, out)
    assert process.wait(timeout=120) == 2  # a usage error
    assert "Error: cannot open the study storage 'nosuchdb://x': NoSuchModuleError" in out.read_text()


pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
