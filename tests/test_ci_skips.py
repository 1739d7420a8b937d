"""In CI nothing skips silently: a skipped test or module fails with its reason; elsewhere skips stay skips."""

from __future__ import annotations

import pytest

SKIPPING = '''
import pytest

def test_needs_a_server() -> None:
    pytest.skip("needs Debian's redis-server")

@pytest.mark.skipif(True, reason="needs nginx")
def test_marked() -> None:
    pass

def test_runs() -> None:
    pass
'''


@pytest.fixture()
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest("pytest_plugins = ['tests.ci_skips']")
    pytester.makepyfile(test_skipping=SKIPPING,
                        test_module_skip="import pytest\npytest.importorskip('no_such_library_here')\n"
                                         "def test_x() -> None:\n    pass\n")
    return pytester


def test_in_ci_every_skip_fails_with_its_reason(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    result = suite.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, failed=1, errors=2)
    for reason in ("needs Debian's redis-server", "needs nginx", "no_such_library_here"):
        result.stdout.fnmatch_lines([f"*skipped in CI, where nothing may be: *{reason}*"])


def test_elsewhere_skips_are_skips(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, skipped=3)
