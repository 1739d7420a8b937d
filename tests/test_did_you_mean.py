"""A misspelt recommender or model name gets the nearest known one in its error."""

from __future__ import annotations

import pytest

from botify.errors import ConfigError, PluginError
from botify.experiments import ExperimentPlan
from botify.recommenders.registry import check_plan_classes
from botify.train.pipeline import resolve_model
from botify.world.catalog import Catalog


def test_a_misspelt_recommender_suggests_the_builtin() -> None:
    plan = ExperimentPlan.from_dict({"seed": 1, "experiments": [{"name": "E", "arms": ["random", "stiky_artist"]}]})
    with pytest.raises(PluginError, match=r"unknown recommender 'stiky_artist' \(did you mean 'sticky_artist'\?\)"):
        check_plan_classes(plan)


def test_a_misspelt_model_suggests_the_builtin(catalog: Catalog) -> None:
    with pytest.raises(PluginError, match=r"unknown trainer 'dsm' \(did you mean 'dssm'\?\)"):
        resolve_model("dsm", catalog, {})


def test_nothing_close_suggests_nothing(catalog: Catalog) -> None:
    with pytest.raises((PluginError, ConfigError)) as error:
        resolve_model("zzzzzz", catalog, {})
    assert "did you mean" not in str(error.value)
