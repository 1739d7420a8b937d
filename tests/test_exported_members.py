"""Every package declares a sorted ``__all__`` that names what it exports."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["botify.ab", "botify.logs", "botify.ope", "botify.recommenders", "botify.service", "botify.sim",
            "botify.sim.agents", "botify.state", "botify.world"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported)
    public = {n for n, v in vars(module).items() if not n.startswith("_") and not isinstance(v, type(module))}
    assert public - {"annotations", "TYPE_CHECKING"} <= set(exported)
    for exported_name in exported:  # those loaded on first use (a module ``__getattr__``) too
        assert not isinstance(getattr(module, exported_name), type(module)), exported_name


def test_the_extension_api_is_importable_from_the_package() -> None:
    from botify import Recommender, Requests, StatefulRecommender
    from botify.recommenders import base

    assert (Recommender, Requests, StatefulRecommender) == (base.Recommender, base.Requests, base.StatefulRecommender)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        importlib.import_module("botify").Nope  # noqa: B018
