"""The HTTP service: the ASGI app, the event log and per-user state stores."""

from botify.service.app import BotifyApp, HTTPError
from botify.service.eventlog import EventLog
from botify.state import InMemoryStore, StateStore

__all__ = ["BotifyApp", "EventLog", "HTTPError", "InMemoryStore", "StateStore"]
