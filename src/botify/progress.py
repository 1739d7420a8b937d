"""How the library reports progress: a callback ``progress(stage, done, total)`` that the caller may draw.

Library layers (simulator, training, fitting) never draw anything themselves: they call the callback they were
given, if any, after each unit of work of a named stage (``total`` 0 when the stage's size is not known). The
command line and the recipes pass one that draws rich progress bars (``botify.recipes.progress``); a notebook or
a script may pass its own, or none.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback"]

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``done`` units of ``total`` (0: unknown) of the stage named ``stage``."""
