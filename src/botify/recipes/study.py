"""The Optuna study a tuning run searches in: in memory, or shared by many workers through Optuna's storage.

With a storage URL (an RDB such as ``sqlite:///tune.db`` or ``postgresql://…``, or ``redis://HOST:PORT`` for
Optuna's journal on Redis), every ``botify tune`` process that names the same study adds trials to it:

* each worker registers in ``NAME.workers`` (a trial number is handed out atomically) and seeds its sampler with
  that number, so no two workers propose the same points; worker 0 enqueues the report's pair;
* the study stops at ``trials`` complete trials whichever worker completes them;
* on an RDB, a worker's running trial sends heartbeats; when a worker is killed, its trial goes stale after the
  grace period and is queued again, and the next worker (a restarted one, or any other) runs it. Optuna's journal
  has no heartbeat: a killed worker's trial stays RUNNING and is left out (the study still completes its trials);
* the confirmation day is claimed through ``NAME.confirmation`` (the first claim wins), so it runs once, on the
  best trial of every worker.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botify.errors import ConfigError

__all__ = ["SharedStudy", "open_study"]

_TERMINAL_WAIT = 600.0  # seconds a worker waits for other workers' trials before giving up on them


@dataclass
class SharedStudy:
    """The study, this worker's number in it and how to tell it apart in the trials' ``worker`` attribute."""

    study: Any  # optuna.Study
    storage: Any  # its optuna storage (None in memory)
    worker: int
    worker_name: str
    shared: bool
    heartbeat: int = 10

    def claim_confirmation(self) -> bool:
        """True for exactly one worker of a shared study (the first to ask); always True for a private one."""
        if not self.shared:
            return True
        import optuna

        claims = optuna.create_study(storage=self.storage, study_name=f"{self.study.study_name}.confirmation",
                                     load_if_exists=True)
        claim = claims.ask()
        claims.tell(claim, float(self.worker))
        return bool(claim.number == 0)

    def finish(self, objective: Callable[[Any], float], log: Callable[[str], None]) -> None:
        """Run trials other workers left queued (a killed worker's, retried), then wait for the running ones."""
        if not self.shared:
            return
        import optuna
        from optuna.trial import TrialState

        # On an RDB, stale trials fail by heartbeat and are retried; the journal has no heartbeat, so a trial whose
        # worker died stays RUNNING: wait a few heartbeats for it, then leave it.
        limit = _TERMINAL_WAIT if isinstance(self.storage, optuna.storages.RDBStorage) else 4.0 * self.heartbeat
        waited, last = 0.0, None
        while waited < limit:
            if isinstance(self.storage, optuna.storages.RDBStorage):
                optuna.storages.fail_stale_trials(self.study)
            states = [t.state for t in self.study.get_trials(deepcopy=False)]
            if TrialState.WAITING in states:
                log("running a trial another worker left (retried after its worker stopped)")
                self.study.optimize(objective, n_trials=states.count(TrialState.WAITING))
                continue
            running = states.count(TrialState.RUNNING)
            if not running:
                return
            if running != last:
                log(f"waiting for {running} trial(s) running in other workers")
                last = running
            time.sleep(1.0)
            waited += 1.0
        log(f"gave up waiting for {last} running trial(s) after {limit:.0f} s; their workers may be gone")


def _storage(url: str, heartbeat: int) -> Any:
    import optuna

    if url.startswith("redis://"):
        from optuna.storages.journal import JournalRedisBackend

        try:
            backend = JournalRedisBackend(url)
        except ImportError as error:
            raise ConfigError("a study on Redis needs the redis client: pip install 'botify[tune]'") from error
        return optuna.storages.JournalStorage(backend)
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=heartbeat, grace_period=2 * heartbeat,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3))
        except Exception as error:  # SQLAlchemy's errors for a bad URL, a missing driver, an unreachable server
            # Two workers creating the schema at once: one sees tables or version rows the other just wrote.
            racing = type(error).__name__ in ("OperationalError", "IntegrityError") and (
                "already exists" in str(error) or "UNIQUE constraint failed" in str(error) or "locked" in str(error))
            if racing and attempt < 4:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise ConfigError(f"cannot open the study storage {url!r}: {type(error).__name__}: {error}") from error
    raise AssertionError("unreachable")


def open_study(storage_url: str | None, study_name: str, *, seed: int, heartbeat: int = 10) -> SharedStudy:
    """A maximising TPE study; shared through ``storage_url`` when given (see the module's docstring)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    worker_name = f"{socket.gethostname()}:{os.getpid()}"
    if storage_url is None:
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        return SharedStudy(study, None, 0, worker_name, shared=False)
    storage = _storage(storage_url, heartbeat)
    workers = optuna.create_study(storage=storage, study_name=f"{study_name}.workers", load_if_exists=True)
    registration = workers.ask()
    workers.tell(registration, 0.0)
    worker = int(registration.number)
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize", load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=seed + 1000 * worker))
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError(f"study {study_name!r} exists and does not maximise; name another study")
    return SharedStudy(study, storage, worker, f"{worker_name}#{worker}", shared=True, heartbeat=heartbeat)
