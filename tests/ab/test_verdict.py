"""Metric directions, guardrails and the verdict: a latency rise is never a win."""

from __future__ import annotations

import numpy as np
import pytest

from botify.ab.metrics import user_metrics
from botify.ab.multiple import sample_ratio_mismatch
from botify.ab.table import Comparison, render_markdown, render_rich, row_tone
from botify.ab.verdict import decide
from botify.errors import ConfigError
from botify.experiments import ExperimentPlan
from botify.metric_plan import MetricPlan


def row(metric: str, effect: float, lower: float, upper: float, control: float = 2.0,
        treatment: str = "T1") -> Comparison:
    return Comparison(treatment, "C", metric, control, control * (1 + effect / 100), effect, lower, upper, 0.01,
                      lower > 0 or upper < 0, 5000, 5000)


BALANCED = sample_ratio_mismatch([5000, 5000])
METRICS = user_metrics(np.arange(400), np.repeat([0, 1], 200), np.linspace(1, 3, 400), np.full(400, 6.0),
                       np.full(400, 0.1))


def verdict(*rows: Comparison, plan: MetricPlan | None = None, srm: object = BALANCED) -> str:
    return decide(list(rows), srm, plan or MetricPlan.default(), METRICS)[0].describe()  # type: ignore[arg-type]


class TestDirections:
    def test_a_significant_latency_rise_is_bad_and_a_time_rise_good(self) -> None:
        plan = MetricPlan.default()
        assert row_tone(row("mean_request_latency", +63.0, +60.0, +66.0, control=0.02), plan) == "bad"
        assert row_tone(row("mean_request_latency", -20.0, -25.0, -15.0, control=0.02), plan) == "good"
        assert row_tone(row("mean_time_per_session", +10.0, +5.0, +15.0), plan) == "good"
        assert row_tone(row("mean_time_per_session", +1.0, -1.0, +3.0), plan) == "neutral"

    def test_every_rendering_shows_the_latency_rise_as_worse(self) -> None:
        from rich.console import Console

        rows = [row("mean_request_latency", +63.05, +60.0, +66.0, control=0.02)]
        assert render_markdown(rows).splitlines()[2].endswith("| worse |")
        console = Console(record=True, width=200, color_system="truecolor")
        console.print(render_rich(rows))
        assert "color: #800000" in console.export_html() or "color: #ff0000" in console.export_html()


class TestVerdict:
    PRIMARY_UP = row("mean_time_per_session", +28.4, +23.6, +33.2)

    def test_ship_when_the_primary_rises_and_the_guardrails_hold(self) -> None:
        latency = row("mean_request_latency", +52.0, +50.0, +54.0, control=0.02)  # +0.01 ms: within 1 ms
        assert verdict(self.PRIMARY_UP, latency) == (
            "T1: SHIP — mean_time_per_session +28.40 % [+23.60, +33.20]; guardrails held (mean_request_latency)")

    def test_a_breached_guardrail_stops_a_winner(self) -> None:
        latency = row("mean_request_latency", +80.0, +70.0, +90.0, control=2.0)  # +1.4 ms at best: over 1 ms
        assert verdict(self.PRIMARY_UP, latency).startswith(
            "T1: DON'T SHIP — mean_request_latency +80.00 % [+70.00, +90.00] breaches its guardrail (at most +1 ms)")

    def test_a_guardrail_that_may_be_breached_makes_it_inconclusive(self) -> None:
        latency = row("mean_request_latency", +40.0, +20.0, +60.0, control=2.0)  # +0.4 .. +1.2 ms
        assert "may be worse than its guardrail (+1 ms)" in verdict(self.PRIMARY_UP, latency)
        assert verdict(self.PRIMARY_UP, latency).startswith("T1: INCONCLUSIVE")

    def test_relative_tolerance_and_a_declared_direction(self) -> None:
        plan = MetricPlan.from_dict({"guardrails": [{"metric": "sessions", "better": "higher", "tolerance": "2%"}]})
        assert "DON'T SHIP — sessions -5.00 %" in verdict(self.PRIMARY_UP, row("sessions", -5.0, -7.0, -3.0), plan=plan)
        assert "SHIP — " in verdict(self.PRIMARY_UP, row("sessions", -1.0, -1.5, -0.5), plan=plan)

    def test_no_significant_change_gives_the_minimum_detectable_effect(self) -> None:
        text = verdict(row("mean_time_per_session", +1.0, -2.0, +4.0))
        assert text.startswith("T1: INCONCLUSIVE — no significant change in mean_time_per_session: +1.00 %")
        assert "this sample detects effects of ±" in text

    def test_a_sample_ratio_mismatch_decides_nothing(self) -> None:
        text = verdict(self.PRIMARY_UP, srm=sample_ratio_mismatch([5000, 4000]))
        assert text.startswith("T1: INCONCLUSIVE — sample ratio mismatch")

    def test_a_worse_primary_is_dont_ship(self) -> None:
        assert verdict(row("mean_time_per_session", -9.0, -12.0, -6.0)).startswith("T1: DON'T SHIP")


class TestDeclarations:
    def test_the_experiment_file_declares_them(self) -> None:
        plan = ExperimentPlan.from_dict({"experiments": [{"name": "E", "arms": ["random", "toppop"]}], "metrics": {
            "primary": "mean_tracks_per_session", "secondary": ["time"],
            "guardrails": [{"metric": "mean_request_latency", "tolerance": "50%"}]}})
        assert plan.metrics.primary.name == "mean_tracks_per_session"
        assert plan.metrics.guardrails[0].relative and plan.metrics.guardrails[0].describe_tolerance() == "+50 %"

    @pytest.mark.parametrize(("block", "message"), [
        ({"primary": "happiness"}, r"metrics.primary: unknown metric 'happiness'"),
        ({"guardrails": [{"metric": "sessions"}]}, r"guardrails\[0\]: a guardrail needs a `tolerance`"),
        ({"guardrails": [{"metric": "sessions", "tolerance": "lots"}]}, r"`tolerance` must be a number or a percent"),
        ({"guardrails": [{"metric": "sessions", "tolerance": -1}]}, r"`tolerance` must be a finite number >= 0"),
        ({"guardrails": [{"metric": "sessions", "better": "up", "tolerance": 1}]}, r"`better` must be 'higher' or"),
        ({"primary": "sessions", "secondary": ["sessions"]}, r"\['sessions'\] named twice"),
        ({"colour": 1}, r"unknown key\(s\) \['colour'\]"),
    ])
    def test_bad_declarations_are_clear_errors(self, block: object, message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            ExperimentPlan.from_dict({"experiments": [{"name": "E", "arms": ["random"]}], "metrics": block},
                                     source="exp.yml")
