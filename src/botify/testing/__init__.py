"""Checks for your own recommender, the way the lab tests its built-ins.

::

    from botify.testing import Lab

    lab = Lab.create(tmp_path)                       # a small world and stand-in dssm / contextual artifacts
    arm = {"recommender": "recommender:InOrder", "params": {"dssm": "dssm"}}
    lab.assert_reproducible(arm)                     # same seed -> same answers, fresh instances
    lab.assert_in_catalog(arm)                       # every answer is a track id of the catalog
    lab.assert_no_repeats_in_session(arm)            # never a track the session already played
    lab.assert_http_matches_in_process(arm)          # a real service gives the sessions the in-process run gives
    lab.assert_latency_below(arm, p99_ms=5.0)        # the recommender's own time per request

Each check plays sessions of the simulator on the small world, in-process (or over HTTP), and raises
``AssertionError`` with an example when the recommender breaks the promise. ``search_path`` (default: the
working directory) is where ``module:Class`` import paths are found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botify.testing.artifacts import REPORT_ARMS, random_report_artifacts, write_report_arms

if TYPE_CHECKING:
    from botify.testing.lab import Lab

__all__ = ["REPORT_ARMS", "Lab", "random_report_artifacts", "write_report_arms"]


def __getattr__(name: str) -> Any:
    # ``Lab`` runs the simulator; loading it on first use keeps ``botify.testing.artifacts`` (used by service-side
    # tests and benchmarks) free of the simulator's modules.
    if name == "Lab":
        from botify.testing.lab import Lab

        return Lab
    raise AttributeError(f"module 'botify.testing' has no attribute {name!r}")
