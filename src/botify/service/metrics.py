"""Prometheus metrics of one replica, in the text exposition format (``GET /metrics``).

Requests by endpoint, arm and status (4xx and 5xx are the errors), a latency histogram by endpoint and arm,
state-store errors and round trips, events the log could not write, artifact reloads. Kept as plain counters
updated on the request path (a few dictionary operations), rendered only when scraped.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["BUCKETS", "ServiceMetrics"]

BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class ServiceMetrics:
    """Counters of one replica; ``gauges`` are read when scraped (e.g. the store's error count)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], _Histogram] = {}
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def observe(self, endpoint: str, arm: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (endpoint, arm, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.latency.get((endpoint, arm))
        if histogram is None:
            histogram = self.latency[(endpoint, arm)] = _Histogram()
        histogram.observe(seconds)

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Expose ``read()`` as ``name`` when scraped."""
        self.gauges[name] = (help_text, read)

    def render(self) -> bytes:
        """The text exposition format (version 0.0.4)."""
        lines = ["# HELP botify_requests_total Answered requests by endpoint, arm and status.",
                 "# TYPE botify_requests_total counter"]
        for (endpoint, arm, status), count in sorted(self.requests.items()):
            lines.append(f'botify_requests_total{{endpoint="{endpoint}",arm="{arm}",status="{status}"}} {count}')
        lines += ["# HELP botify_request_seconds Request latency by endpoint and arm.",
                  "# TYPE botify_request_seconds histogram"]
        for (endpoint, arm), histogram in sorted(self.latency.items()):
            labels = f'endpoint="{endpoint}",arm="{arm}"'
            cumulative = 0
            for bound, count in zip((*BUCKETS, float("inf")), histogram.counts, strict=True):
                cumulative += count
                edge = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'botify_request_seconds_bucket{{{labels},le="{edge}"}} {cumulative}')
            lines.append(f"botify_request_seconds_sum{{{labels}}} {histogram.total!r}")
            lines.append(f"botify_request_seconds_count{{{labels}}} {cumulative}")
        for name, (help_text, read) in sorted(self.gauges.items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {float(read())!r}"]
        return ("\n".join(lines) + "\n").encode()
