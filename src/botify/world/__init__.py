"""The simulated world: the public catalog, and the simulator's private truth beside it."""

from botify.world.catalog import Catalog, load_catalog
from botify.world.config import WorldConfig

__all__ = ["Catalog", "WorldConfig", "load_catalog"]
