"""What every command module shares: the console, the default world and the group that turns errors into one line.

Every command validates its options at the edge and turns a ``LabError`` into a one-line message and exit
code 2 (``ConfigError``: a usage error) or 1, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from typing_extensions import override

from botify.errors import ConfigError, LabError

__all__ = ["DEFAULT_WORLD", "DEMO_EPISODES", "LabGroup", "console"]

DEFAULT_WORLD = Path("worlds/default")
DEMO_EPISODES = 30_000
console = Console(width=None if sys.stdout.isatty() else 150)


class LabGroup(click.Group):
    """A group that reports ``LabError`` as a clean usage error."""

    @override
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.UsageError(str(error), ctx) from error
        except LabError as error:
            raise click.ClickException(str(error)) from error
