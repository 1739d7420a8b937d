"""The analysis on small hand-made logs: sessions, user metrics and Welch numbers computed by hand."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from botify.ab import analyze_logs
from botify.errors import ConfigError


class TestAnalyze:
    def test_sessions_and_user_metrics(self, logs: Path) -> None:
        analysis = analyze_logs([logs], "EXP")
        assert analysis.read.malformed == 2 and analysis.read.outside_experiment == 1
        assert analysis.sessions.unfinished == 1 and len(analysis.sessions) == 6
        m = analysis.metrics
        by_user = {int(u): (float(t), float(s)) for u, t, s in zip(m.user, m.mean_time_per_session, m.sessions,
                                                                  strict=True)}
        assert by_user == {1: (1.5, 2.0), 2: (1.25, 1.0), 3: (1.6, 1.0), 4: (2.0, 2.0)}
        s = analysis.sessions
        ends = sorted((int(a), int(e), float(t)) for a, e, t in zip(s.arm, s.end, s.time, strict=True))
        assert ends == [(0, 3, 2.0), (0, 9, 1.25), (0, 11, 1.0), (1, 3, 2.5), (1, 6, 1.6), (1, 21, 1.5)]

    def test_welch_row_by_hand(self, logs: Path) -> None:
        row = next(r for r in analyze_logs([logs], "EXP").rows if r.metric == "mean_time_per_session")
        control, treatment = [1.5, 1.25], [1.6, 2.0]
        c_mean, t_mean = 1.375, 1.8
        vc, vt = 0.03125 / 2, 0.08 / 2
        se = math.sqrt(vc + vt)
        df = (vc + vt) ** 2 / (vc**2 / 1 + vt**2 / 1)
        half = stats.t.ppf(0.975, df) * se
        assert row.control_mean == c_mean and row.treatment_mean == pytest.approx(t_mean, abs=1e-12)
        assert row.effect == pytest.approx(100 * (t_mean - c_mean) / c_mean, abs=1e-9)
        assert row.lower == pytest.approx(100 * (t_mean - c_mean - half) / c_mean, abs=1e-9)
        assert row.upper == pytest.approx(100 * (t_mean - c_mean + half) / c_mean, abs=1e-9)
        scipy_result = stats.ttest_ind(treatment, control, equal_var=False)
        assert row.pvalue == pytest.approx(scipy_result.pvalue, abs=1e-9)
        assert row.significant == (row.lower > 0 or row.upper < 0)

    def test_latency_in_ms_per_request(self, logs: Path) -> None:
        m = analyze_logs([logs], "EXP").metrics
        user1 = list(m.user).index(1)
        assert m.mean_request_latency[user1] == pytest.approx((3 * 1 + 2 * 2) / 5)

    def test_markdown_report(self, logs: Path) -> None:
        text = analyze_logs([logs], "EXP").markdown()
        assert "malformed lines: 2" in text and "| T1 | mean_time_per_session |" in text
        assert "SRM check: users per arm [2, 2]" in text and "Holm p" in text

    def test_errors(self, logs: Path, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="no log line carries experiment 'NOPE'"):
            analyze_logs([logs], "NOPE")
        with pytest.raises(ConfigError, match="does not exist"):
            analyze_logs([tmp_path / "missing"], "EXP")
        with pytest.raises(ConfigError, match="`control` must be an arm label"):
            analyze_logs([logs], "EXP", control="X")


class TestDataFrames:
    def test_analyze_returns_frames(self, logs: Path) -> None:
        from botify.ab.frames import analyze

        frames = analyze(logs, "EXP")
        assert set(frames.table["metric"]) == {"time", "sessions", "mean_request_latency",
                                              "mean_tracks_per_session", "mean_time_per_session",
                                              "median_session_time", "p90_session_time", "p99_request_latency"}
        row = frames.table.set_index(["treatment", "metric"]).loc[("T1", "mean_time_per_session")]
        assert row["control_mean"] == 1.375
        assert len(frames.users) == 4 and set(frames.users["arm"]) == {"C", "T1"}
        assert frames.users.set_index("user").loc[1, "mean_time_per_session"] == 1.5
        assert len(frames.sessions) == 6 and frames.read.malformed == 2

    def test_the_verdict_is_a_frame_too_and_follows_the_experiment_files_metrics(self, logs: Path,
                                                                               tmp_path: Path) -> None:
        from botify.ab.frames import analyze

        frames = analyze(logs, "EXP")
        assert list(frames.verdicts.columns) == ["treatment", "decision", "reason"]
        assert frames.verdicts.iloc[0]["decision"] == "inconclusive"  # two users per arm decide nothing
        assert "no significant change in mean_time_per_session" in frames.verdicts.iloc[0]["reason"]
        assert set(frames.table["reading"]) <= {"good", "bad", "neutral"}
        plan = tmp_path / "exp.yml"
        plan.write_text("experiments: [{name: EXP, arms: [random, random]}]\nmetrics: {primary: sessions}\n")
        assert "no significant change in sessions" in analyze(logs, "EXP", plan=plan).verdicts.iloc[0]["reason"]


class TestHtml:
    def test_report_is_well_formed_and_holds_the_numbers(self, logs: Path) -> None:
        from html.parser import HTMLParser

        from botify.ab.html import render_html

        analysis = analyze_logs([logs], "EXP")
        page = render_html(analysis, "EXP report", {"seed": 7})

        class Checker(HTMLParser):
            def __init__(self) -> None:
                super().__init__()
                self.open: list[str] = []
                self.plots = 0

            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                if tag != "meta":
                    self.open.append(tag)
                self.plots += ("class", "plot") in attrs

            def handle_endtag(self, tag: str) -> None:
                assert self.open.pop() == tag

        checker = Checker()
        checker.feed(page)
        assert checker.open == [] and checker.plots >= 3
        row = next(r for r in analysis.rows if r.metric == "mean_time_per_session")
        assert f"{row.effect:+.2f}" in page and f"{row.lower:+.2f}" in page and "SRM check" in page
        assert "seed: 7" in page and page.count("* plotly.js v") == 1  # the library inlined once, for every plot

    def test_the_effect_over_the_day_ends_at_the_tables_effect(self, collection_logs: Path) -> None:
        import numpy as np

        from botify.ab.html import _primary_effects

        analysis = analyze_logs([collection_logs], "EXPLORATION")
        effects = _primary_effects(analysis, np.arange(len(analysis.sessions)))
        assert sorted(effects) == [1, 2]
        for treatment, effect in effects.items():
            row = next(r for r in analysis.rows
                       if r.metric == "mean_time_per_session" and r.treatment == f"T{treatment}")
            assert (effect.effect, effect.lower, effect.upper) == pytest.approx((row.effect, row.lower, row.upper))


class TestFastPaths:
    @pytest.mark.parametrize("user_high", [50, 2**61])  # small ids: one radix-sorted key; huge: lexsort
    def test_sessions_and_metrics_match_a_plain_implementation(self, user_high: int) -> None:
        import numpy as np

        from botify.ab.metrics import user_metrics
        from botify.logs.reader import EventColumns
        from botify.logs.sessions import sessionize

        rng = np.random.default_rng(1)
        n = 3000
        user = rng.integers(0, 50, n) * (user_high // 50)
        events = EventColumns(user=user, track=np.zeros(n, np.int64), arm=rng.integers(0, 3, n),
                              timestamp=rng.integers(0, 40, n), time=rng.random(n), latency=np.zeros(n),
                              recommendation=np.zeros(n, np.int64), is_last=rng.random(n) < 0.2)
        sessions = sessionize(events)
        order = np.lexsort((np.arange(n), events.timestamp, events.user, events.arm))  # the definition
        expected: dict[tuple[int, int], list[float]] = {}
        current, group = 0.0, None
        for i in order.tolist():
            if (events.arm[i], events.user[i]) != group:  # a new (arm, user): an unfinished session is dropped
                current, group = 0.0, (events.arm[i], events.user[i])
            current += events.time[i]
            if events.is_last[i]:
                expected.setdefault((int(events.arm[i]), int(events.user[i])), []).append(current)
                current = 0.0
        got: dict[tuple[int, int], list[float]] = {}
        for a, u, t in zip(sessions.arm.tolist(), sessions.user.tolist(), sessions.time.tolist(), strict=True):
            got.setdefault((a, u), []).append(t)
        assert got.keys() == expected.keys()
        for key, times in expected.items():
            assert got[key] == pytest.approx(times)
        shuffled = rng.permutation(len(sessions))
        metrics = user_metrics(sessions.user[shuffled], sessions.arm[shuffled], sessions.time[shuffled],
                               sessions.tracks[shuffled])
        means = {(int(a), int(u)): float(t) for a, u, t in zip(metrics.arm, metrics.user,
                                                               metrics.mean_time_per_session, strict=True)}
        assert means == pytest.approx({key: float(np.mean(times)) for key, times in expected.items()})
        assert list(zip(metrics.arm.tolist(), metrics.user.tolist(), strict=True)) == sorted(means)


def test_reading_and_comparing_arms_loads_neither_pandas_nor_scipy_stats() -> None:
    """A fresh ``botify ab`` spends no second importing libraries that only the DataFrame view needs."""
    code = ("import sys, botify.ab; print(sorted(m for m in ('pandas', 'scipy.stats') if m in sys.modules)); "
            "import botify.ab.analyze as m; print(type(m).__name__, m.__name__)")
    loaded, module = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                    text=True).stdout.splitlines()
    assert loaded == "[]"
    assert module == "module botify.ab.analyze"  # a plain module (mock.patch can reach into it), not a function


def test_the_delta_relative_interval_is_the_table_s_when_asked(collection_logs: Path) -> None:
    from botify.ab.stats import relative_effect

    scaled = analyze_logs([collection_logs], "EXPLORATION")
    delta = analyze_logs([collection_logs], "EXPLORATION", relative="delta")
    m = delta.metrics
    for row, plain in zip(delta.rows, scaled.rows, strict=True):
        if row.metric not in ("mean_time_per_session", "time"):
            continue
        values = m.metric(row.metric)
        expected = relative_effect(values[m.arm == int(row.treatment[1:])], values[m.arm == 0], interval="delta")
        assert (row.effect, row.lower, row.upper) == pytest.approx((expected.effect, expected.lower, expected.upper))
        assert row.effect == pytest.approx(plain.effect) and row.significant == plain.significant
        assert (row.lower, row.upper) != pytest.approx((plain.lower, plain.upper))
    assert "delta method" in delta.markdown() and "over the control mean" in scaled.markdown()
    with pytest.raises(ConfigError, match="relative"):
        analyze_logs([collection_logs], "EXPLORATION", relative="fieller")
