"""The HTML report in a real headless Chromium, read as a person reads it.

The page is loaded with a small script appended that measures, from the rendered page itself, every text of
every plot against its plot's box and looks for the axis titles; the screenshot is kept in ``test-artifacts/``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from botify.ab import analyze_logs
from botify.ab.analyze import Analysis
from botify.ab.html import render_html
from botify.ab.longterm import DailySessions
from botify.ab.verdict import decide

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHECKS = """
<script>
window.addEventListener('load', () => setTimeout(() => {
  const out = {plots: [], overflow: [], missing_titles: []};
  document.querySelectorAll('.js-plotly-plot').forEach(plot => {
    out.plots.push(plot.id);
    const box = plot.getBoundingClientRect();
    plot.querySelectorAll('text').forEach(t => {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || r.width === 0) return;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.overflow.push(plot.id + ': ' + t.textContent);
    });
    const x = plot.querySelector('.g-xtitle text'), y = plot.querySelector('.g-ytitle text');
    if (!x || !x.textContent.trim() || !y || !y.textContent.trim()) out.missing_titles.push(plot.id);
  });
  const pre = document.createElement('pre');
  pre.id = 'layout-checks';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 500));
</script>
"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--virtual-time-budget=10000", *args], capture_output=True, text=True, timeout=120)


def layout_checks(page: Path, tmp_path: Path) -> dict[str, list[str]]:
    checked = tmp_path / f"checked-{page.name}"
    checked.write_text(page.read_text().replace("</body>", CHECKS + "</body>"))
    dom = chromium(tmp_path, "--window-size=1200,900", "--dump-dom", checked.as_uri()).stdout
    found = re.search(r'<pre id="layout-checks">(.*?)</pre>', dom, flags=re.S)
    assert found, "the page's own checks did not run"
    result: dict[str, list[str]] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return result


@pytest.fixture(scope="module")
def analysis(collection_logs: Path) -> Analysis:
    """A real day's analysis (three arms), with a significant latency rise written into T1's latency row."""
    result = analyze_logs([collection_logs], "EXPLORATION")
    rows = [dataclasses.replace(r, control_mean=2.0, treatment_mean=3.26, effect=+63.05, lower=+58.0, upper=+68.1,
                                significant=True) if (r.metric, r.treatment) == ("mean_request_latency", "T1") else r
            for r in result.rows]
    return dataclasses.replace(result, rows=rows, verdicts=decide(rows, result.srm, result.plan, result.metrics))


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
class TestReadInABrowser:
    def test_no_text_leaves_its_plot_every_axis_has_a_title_and_the_page_is_kept(
            self, analysis: Analysis, tmp_path: Path) -> None:
        page = tmp_path / "report.html"
        page.write_text(render_html(analysis, "EXPLORATION report", {"seed": 7}))
        checks = layout_checks(page, tmp_path)
        assert len(checks["plots"]) >= 6  # forests per metric, distributions, the effect over the day
        assert checks["overflow"] == [] and checks["missing_titles"] == []
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "report.png"
        chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,4200", page.as_uri())
        assert shot.stat().st_size > 100_000, "the screenshot is (nearly) blank"
        print(f"screenshot: {shot}")

    def test_the_horizon_section_reads_as_well(self, analysis: Analysis, tmp_path: Path) -> None:
        s = analysis.sessions
        rng = np.random.default_rng(3)
        daily = DailySessions(s.user, s.arm, rng.integers(0, 7, len(s.user)), s.time, s.tracks, days=7)
        page = tmp_path / "report-longterm.html"
        page.write_text(render_html(analysis, "EXPLORATION over 7 days", {"seed": 7}, long_term=daily))
        checks = layout_checks(page, tmp_path)
        assert {"plot-retention", "plot-daily-effects"} <= set(checks["plots"])
        assert checks["overflow"] == [] and checks["missing_titles"] == []
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "report-longterm.png"
        chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,5600", page.as_uri())
        assert shot.stat().st_size > 100_000, "the screenshot is (nearly) blank"

    def test_the_checks_see_a_label_cut_by_its_plot(self, analysis: Analysis, tmp_path: Path) -> None:
        page = tmp_path / "cut.html"
        text = render_html(analysis, "EXPLORATION report")
        page.write_text(text.replace('"automargin":true', '"automargin":false'))  # the labels no longer fit
        assert layout_checks(page, tmp_path)["overflow"] != []

    def test_it_opens_offline_and_leads_with_the_verdict(self, analysis: Analysis, tmp_path: Path) -> None:
        text = render_html(analysis, "EXPLORATION report")
        assert not re.search(r"<script[^>]*\ssrc=", text) and not re.search(r"<link[^>]*\shref=", text)
        body = text[text.index("<body>"):]
        assert body.index('class="verdict') < body.index("<table>")
        page = tmp_path / "report.html"
        page.write_text(text)
        dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
        assert dom.count('class="verdict') == 2 and "js-plotly-plot" in dom


class TestLatencyIsNeverAWin:
    def test_a_latency_rise_is_red_everywhere_and_stops_the_ship(self, analysis: Analysis) -> None:
        text = render_html(analysis, "EXPLORATION report")
        row = re.search(r'<tr class="(\w+)" data-metric="mean_request_latency"><td>T1</td>', text)
        assert row and row.group(1) == "bad"
        forest = text[text.index('id="plot-forest-mean_request_latency"'):]
        forest = forest[: forest.index('data-plot="forest-', 10) if 'data-plot="forest-' in forest[10:] else None]
        assert '"color":"#b3261e"' in forest and '"color":"#0a7a2f"' not in forest
        t1 = next(v for v in analysis.verdicts if v.treatment == "T1")
        assert t1.decision == "don't ship" and "mean_request_latency +63.05 %" in t1.reason
