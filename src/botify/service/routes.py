"""The service's routes as data: path, methods, the metrics' endpoint label and the handler that answers.

A path is either exact (``/health``) or one segment and an id (``/next/{user}``). The app looks a request up in
two dicts built from this table (one lookup for every request, the hot ``/next`` included) and answers 405 with
an ``Allow`` header when the path is known but the method is not, 404 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROUTES", "Route"]

_READ = ("GET", "HEAD")


@dataclass(frozen=True)
class Route:
    """One route: ``path`` (``{name}`` marks an id segment), its methods, its endpoint label and handler name."""

    path: str
    methods: tuple[str, ...]
    endpoint: str
    handler: str
    admin: bool = False  # served only when the service has an admin token

    @property
    def with_id(self) -> bool:
        """Whether the path ends in an id segment (``/next/{user}``)."""
        return self.path.endswith("}")

    @property
    def prefix(self) -> str:
        """``/next/{user}`` → ``next``; an exact path keeps its whole text (``/health``)."""
        return self.path.strip("/").split("/")[0] if self.with_id else self.path


ROUTES: tuple[Route, ...] = (
    Route("/next/{user}", ("POST",), "next", "next_track"),
    Route("/last/{user}", ("POST",), "last", "last_track"),
    Route("/track/{track}", _READ, "track", "track_metadata"),
    Route("/", _READ, "root", "alive"),
    Route("/health", _READ, "health", "alive"),
    Route("/ready", _READ, "ready", "ready"),
    Route("/metrics", _READ, "metrics", "prometheus_metrics"),
    Route("/openapi.json", _READ, "openapi.json", "openapi"),
    Route("/admin/reload", ("POST",), "admin", "admin_reload", admin=True),
)
"""Every route of ``BotifyApp``; ``/openapi.json`` describes the same."""
