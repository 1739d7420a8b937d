"""Without Ray, ``--ray`` says how to install it (this test needs no Ray)."""

from __future__ import annotations

import sys

import pytest

from botify.errors import LabError
from botify.sim.agents.sharded import require_ray


def test_without_ray_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when Ray is not installed
    with pytest.raises(LabError, match=r"pip install 'botify\[ray\]'"):
        require_ray()
