"""The statistics functions' examples (their docstrings' ``Examples``) run and print what they say."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from botify.ab import bootstrap, cuped, multiple, peeking, power, quantiles, ratio, sequential, stats

MODULES = [stats, multiple, ratio, power, bootstrap, cuped, sequential, quantiles, peeking]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_the_examples_in_the_docstrings_hold(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0
