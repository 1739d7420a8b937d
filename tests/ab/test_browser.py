"""The HTML report in a real headless Chromium: it renders (not blank) and the table's numbers are in the page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from botify.ab import analyze_logs
from botify.ab.html import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
class TestBrowser:
    def test_report_renders_with_its_numbers(self, logs: Path, tmp_path: Path) -> None:
        analysis = analyze_logs([logs], "EXP")
        page = tmp_path / "report.html"
        page.write_text(render_html(analysis, "EXP report", {"seed": 7}))
        blank = tmp_path / "blank.html"
        blank.write_text("<!doctype html><html><body></body></html>")
        for source, shot in ((page, "report.png"), (blank, "blank.png")):
            chromium(tmp_path, f"--screenshot={tmp_path / shot}", "--window-size=1000,1200", source.as_uri())
        assert (tmp_path / "report.png").stat().st_size > 5 * (tmp_path / "blank.png").stat().st_size
        dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
        for row in analysis.rows:
            assert f"{row.effect:+.2f}" in dom and f"{row.upper:+.2f}" in dom
        assert "SRM check" in dom and dom.count("<svg") >= 3
