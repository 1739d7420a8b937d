"""One exception hierarchy for the lab.

::

    LabError
    ├── ConfigError      bad user input: CLI options, YAML files, parameters
    ├── WorldError       a world directory is missing, incomplete or inconsistent
    ├── PluginError      a user's recommender or trainer cannot be loaded, or answers wrongly when probed
    └── ServiceUnreachableError   the remote agent cannot reach the service
"""

from __future__ import annotations

__all__ = ["ConfigError", "LabError", "PluginError", "ServiceUnreachableError", "WorldError"]


class LabError(Exception):
    """Base class of every error the lab raises on purpose."""


class ConfigError(LabError, ValueError):
    """A parameter, option or configuration file is invalid."""


class WorldError(LabError):
    """A world directory is missing, incomplete or inconsistent."""


class ServiceUnreachableError(LabError, ConnectionError):
    """The recommendation service did not answer at the given URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"cannot reach the Botify service at {self.url}: {self.reason}. "
            "Start it with `botify serve` or pass the right `--url`."
        )


class PluginError(LabError):
    """A recommender or trainer named by the user cannot be loaded, or answers wrongly when probed at start-up."""
