"""``botify serve`` builds its recommenders once per process: the start-up check's build is the one served."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from botify.service.process import ServiceProcess

COUNTED = '''
import os
import numpy as np
from botify import Recommender, Requests


class Counted(Recommender):
    """Writes one line per construction: which process built it."""

    name = "counted"

    def __init__(self, catalog, *, random_state=None, record: str = ""):
        super().__init__(catalog, random_state=random_state)
        with open(record, "a") as handle:
            handle.write(f"{os.getpid()}\\n")

    def recommend_batch(self, requests: Requests) -> np.ndarray:
        return requests.track
'''


@pytest.mark.parametrize("server", ["uvicorn", "eager"])
@pytest.mark.parametrize("workers", [1, 2])
def test_each_process_builds_the_plan_once(world_dir: Path, tmp_path: Path, workers: int, server: str) -> None:
    record = tmp_path / "built.txt"
    (tmp_path / "counted.py").write_text(COUNTED)
    (tmp_path / "experiment.yml").write_text(
        "seed: 1\nexperiments:\n  - name: E\n    arms: [{recommender: 'counted:Counted', params: {record: "
        f"'{record}'}}}}]\n")
    with ServiceProcess(world_dir, config=tmp_path / "experiment.yml", log_dir=tmp_path / "log",
                        workers=workers, extra_args=["--server", server]) as service:
        assert httpx.post(f"{service.url}/next/3", json={"track": 5, "time": 1.0}).json()["track"] == 5
        parent = service.process.pid if service.process is not None else -1
    builds: dict[int, int] = {}
    for pid in map(int, record.read_text().split()):
        builds[pid] = builds.get(pid, 0) + 1
    # a build is the start-up probe's instance and the served one: two constructions per arm
    assert builds.pop(parent) == 2  # with workers, the parent's build is the check before forking
    assert list(builds.values()) == ([] if workers == 1 else [2] * workers)
