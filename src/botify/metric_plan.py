"""What an experiment is judged on: the primary metric, secondary metrics and guardrails, each with a direction.

Declared in the experiment file (all keys optional)::

    metrics:
      primary: mean_time_per_session          # default
      secondary: [mean_tracks_per_session]     # default: every other metric that is not a guardrail
      guardrails:
        - {metric: mean_request_latency, tolerance: 1.0}      # may rise by at most 1 ms (metric units)
        - {metric: sessions, better: higher, tolerance: 2%}   # may fall by at most 2 % of the control mean

Besides the per-user metrics, the quantile metrics ``median_session_time``, ``p90_session_time`` and
``p99_request_latency`` (``botify.ab.quantiles``) may take any role.
``better`` is ``higher`` or ``lower``; a built-in metric has a default (latency: lower, everything else: higher).
A guardrail's ``tolerance`` is how much worse the treatment may be: a number in the metric's units or a
percentage of the control mean. Without a ``metrics`` block, the primary metric is ``mean_time_per_session`` and
latency is a guardrail that may rise by 1 ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botify.errors import ConfigError

__all__ = ["ALL_DIRECTIONS", "DIRECTIONS", "QUANTILE_DIRECTIONS", "UNITS", "MetricPlan", "MetricSpec"]

Direction = Literal["higher", "lower"]

DIRECTIONS: dict[str, Direction] = {"time": "higher", "sessions": "higher", "mean_request_latency": "lower",
                                    "mean_tracks_per_session": "higher", "mean_time_per_session": "higher"}
QUANTILE_DIRECTIONS: dict[str, Direction] = {"median_session_time": "higher", "p90_session_time": "higher",
                                             "p99_request_latency": "lower"}
"""Quantile metrics (``botify.ab.quantiles``): a quantile over all sessions or requests, users as the unit."""
ALL_DIRECTIONS: dict[str, Direction] = {**DIRECTIONS, **QUANTILE_DIRECTIONS}
UNITS = {"time": "listened tracks", "sessions": "sessions", "mean_request_latency": "ms",
         "mean_tracks_per_session": "tracks", "mean_time_per_session": "listened tracks",
         "median_session_time": "listened tracks", "p90_session_time": "listened tracks",
         "p99_request_latency": "ms"}


@dataclass(frozen=True)
class MetricSpec:
    """One metric's role and direction; guardrails also carry how much worse they may get."""

    name: str
    better: Direction
    tolerance: float | None = None  # guardrails only
    relative: bool = False  # tolerance in % of the control mean (True) or in the metric's units

    def describe_tolerance(self) -> str:
        """``+1 ms`` / ``-2 %``: the worst change allowed, signed in the bad direction."""
        sign = "+" if self.better == "lower" else "-"
        unit = " %" if self.relative else f" {UNITS.get(self.name, '')}".rstrip()
        return f"{sign}{self.tolerance:g}{unit}"


@dataclass(frozen=True)
class MetricPlan:
    """The primary metric, the secondary ones and the guardrails."""

    primary: MetricSpec
    secondary: tuple[MetricSpec, ...]
    guardrails: tuple[MetricSpec, ...]

    def describe_guardrails(self) -> str:
        """``mean_request_latency at most +1 ms, …`` (or ``none``)."""
        return ", ".join(f"{g.name} at most {g.describe_tolerance()}" for g in self.guardrails) or "none"

    def direction(self, metric: str) -> Direction:
        """Which way is better for ``metric`` (declared, else the built-in default)."""
        for spec in (self.primary, *self.secondary, *self.guardrails):
            if spec.name == metric:
                return spec.better
        return ALL_DIRECTIONS.get(metric, "higher")

    @classmethod
    def default(cls) -> MetricPlan:
        """Primary ``mean_time_per_session``; latency may rise by 1 ms; the rest secondary."""
        return cls.from_dict(None)

    @classmethod
    def from_dict(cls, data: Any, source: str = "experiment file") -> MetricPlan:
        """Validate the ``metrics`` block of an experiment file (``None``: the defaults)."""
        where = f"{source}: metrics"
        if data is None:
            data = {"guardrails": [{"metric": "mean_request_latency", "tolerance": 1.0}]}
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a mapping with `primary`, `secondary`, `guardrails`")
        unknown = sorted(set(data) - {"primary", "secondary", "guardrails"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: ['guardrails', 'primary', 'secondary']")
        primary = _spec(data.get("primary", "mean_time_per_session"), where + ".primary")
        raw_guardrails = data.get("guardrails", [])
        if not isinstance(raw_guardrails, list):
            raise ConfigError(f"{where}.guardrails must be a list, got {raw_guardrails!r}")
        guardrails = tuple(_guardrail(item, f"{where}.guardrails[{i}]") for i, item in enumerate(raw_guardrails))
        taken = {primary.name, *(g.name for g in guardrails)}
        if "secondary" in data:
            raw_secondary = data["secondary"]
            if not isinstance(raw_secondary, list):
                raise ConfigError(f"{where}.secondary must be a list, got {raw_secondary!r}")
            secondary = tuple(_spec(item, f"{where}.secondary[{i}]") for i, item in enumerate(raw_secondary))
        else:
            secondary = tuple(MetricSpec(name, better) for name, better in ALL_DIRECTIONS.items() if name not in taken)
        names = [primary.name, *(s.name for s in secondary), *(g.name for g in guardrails)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"{where}: {repeated} named twice (a metric has one role)")
        return cls(primary, secondary, guardrails)


def _spec(item: Any, where: str) -> MetricSpec:
    if isinstance(item, str):
        item = {"metric": item}
    if not isinstance(item, dict) or not isinstance(item.get("metric"), str):
        raise ConfigError(f"{where}: expected a metric name or {{metric: NAME, better: higher|lower}}, got {item!r}")
    name = item["metric"]
    if name not in ALL_DIRECTIONS:
        raise ConfigError(f"{where}: unknown metric {name!r}; expected one of {sorted(ALL_DIRECTIONS)}")
    better = item.get("better", ALL_DIRECTIONS[name])
    if better not in ("higher", "lower"):
        raise ConfigError(f"{where}: `better` must be 'higher' or 'lower', got {better!r}")
    extra = sorted(set(item) - {"metric", "better", "tolerance"})
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra}")
    return MetricSpec(name, better)


def _guardrail(item: Any, where: str) -> MetricSpec:
    spec = _spec(item, where)
    raw = item.get("tolerance") if isinstance(item, dict) else None
    if raw is None:
        raise ConfigError(f"{where}: a guardrail needs a `tolerance` (how much worse it may get: 1.0, or 5%)")
    relative = isinstance(raw, str) and raw.strip().endswith("%")
    try:
        value = float(raw.strip().removesuffix("%")) if isinstance(raw, str) else float(raw)
    except ValueError as error:
        raise ConfigError(f"{where}: `tolerance` must be a number or a percentage, got {raw!r}") from error
    if isinstance(raw, bool) or not value >= 0 or value == float("inf"):
        raise ConfigError(f"{where}: `tolerance` must be a finite number >= 0, got {raw!r}")
    return MetricSpec(spec.name, spec.better, value, relative)
