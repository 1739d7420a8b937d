"""Schemathesis fuzzes the published OpenAPI schema of a real service, custom and session arms included.

No 5xx, every response matches the schema, schema-valid requests are accepted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from botify.service.process import ServiceProcess
from botify.testing.artifacts import write_report_arms

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.mark.skipif(not SCHEMATHESIS.exists() and shutil.which("schemathesis") is None,
                    reason="needs schemathesis (requirements.txt)")
def test_schemathesis_finds_nothing(world_dir: Path, model_artifacts: Path, tmp_path: Path) -> None:
    config = write_report_arms(tmp_path / "report.yml")
    binary = str(SCHEMATHESIS) if SCHEMATHESIS.exists() else "schemathesis"
    with ServiceProcess(world_dir, config=config, log_dir=tmp_path / "log",
                        extra_args=["--artifacts", str(model_artifacts)]) as service:
        done = subprocess.run([binary, "run", f"{service.url}/openapi.json", "--checks", "all",
                               "--max-examples", "100", "--seed", "1"],
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "7 passed" in done.stdout
