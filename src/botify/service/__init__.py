"""The HTTP service: app, experiments routing and per-user state stores."""

from botify.service.app import create_app
from botify.service.state import InMemoryStore, SessionCounters, StateStore

__all__ = ["InMemoryStore", "SessionCounters", "StateStore", "create_app"]
