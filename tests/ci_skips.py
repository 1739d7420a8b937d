"""A pytest plugin: in CI (``CI`` set) a skipped test or module fails with its reason.

Every real part the tests need (``redis-server``, ``nginx``, ``chromium``, Ray, ``obp``, schemathesis) is installed
by ``.ci/run``; a test that skips there would hide a missing part behind a green run.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest


def _fail_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI (``CI`` set) a skipped test fails with its reason: every real part the tests need is installed there."""
    report = yield
    _fail_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport,
                                                                           pytest.CollectReport]:
    """A whole module skipped at collection (``pytest.importorskip``) fails in CI too."""
    report = yield
    _fail_in_ci(report)
    return report
