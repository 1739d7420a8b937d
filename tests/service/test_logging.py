"""The service logs through ``logging``: its start-up facts, and the whole traceback of a request it failed."""

from __future__ import annotations

from pathlib import Path

import httpx

from botify.service.process import ServiceProcess

BROKEN = '''
import numpy as np
from botify import Recommender, Requests


def divide_by_the_users_sessions(users):
    return np.array([1 // (user - 424242) for user in users.tolist()])  # fails for one user: the probes pass


class Broken(Recommender):
    name = "broken"

    def recommend_batch(self, requests: Requests) -> np.ndarray:
        return (requests.track + divide_by_the_users_sessions(requests.user)) % self.catalog.n_tracks
'''


def test_a_500_leaves_its_traceback_in_the_services_log(world_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "experiment.yml").write_text(
        "seed: 1\nexperiments:\n  - name: E\n    arms: [{recommender: 'broken:Broken'}]\n")
    service = ServiceProcess(world_dir, config=tmp_path / "experiment.yml", log_dir=tmp_path / "log").start()
    try:
        fine = httpx.post(f"{service.url}/next/7", json={"track": 1, "time": 0.5})
        failed = httpx.post(f"{service.url}/next/424242", json={"track": 1, "time": 0.5})
    finally:
        output = service.stop()
    assert fine.status_code == 200
    assert failed.status_code == 500 and failed.json() == {"detail": "internal error"}
    assert "botify.service: serving" in output and "experiments [E: C]" in output  # the start-up facts
    assert "ERROR botify.service: internal error on POST /next/424242" in output
    assert "Traceback (most recent call last)" in output
    assert "in divide_by_the_users_sessions" in output and "ZeroDivisionError" in output
