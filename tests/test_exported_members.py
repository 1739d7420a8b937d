"""Every package declares a sorted ``__all__`` that names what it exports."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["botify.ab", "botify.recommenders", "botify.service", "botify.sim", "botify.sim.agents", "botify.world"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported)
    public = {n for n, v in vars(module).items() if not n.startswith("_") and not isinstance(v, type(module))}
    assert public - {"annotations"} == set(exported)
