"""Recipes: end-to-end jobs composed from the lab's parts (demo, seminar, calibration, tuning, coverage study).

They sit on top of everything else: a recipe may import any layer, no layer imports a recipe.
"""

__all__ = ["CONCURRENCY", "PIPELINE"]

CONCURRENCY = 32
"""Sessions in flight on the recipes' HTTP days."""
PIPELINE = 8
"""Sessions per connection on the recipes' HTTP days: their requests are pipelined (HTTP/1.1), and the lab's
service answers the requests it reads together in one write, so a day costs about half the service CPU per
request of a connection per session (docs/scaling.md). The sessions are the same for any value."""
