"""The user simulator: the user model, a Gymnasium env, the batched engine and the agents.

Importing it registers the env with Gymnasium: ``gymnasium.make("botify/Session-v0", world=load_sim_world(DIR))``
(or, without importing first, ``gymnasium.make("botify.sim:botify/Session-v0", world=...)``), and the multi-day
env for one returning user: ``gymnasium.make("botify/ReturningUser-v0", world=..., days=14)`` (docs/returns.md).
"""

import gymnasium

from botify.sim.engine import BatchedEngine, SessionResults
from botify.sim.env import SessionEnv
from botify.sim.world import SimWorld, load_sim_world

if "botify/Session-v0" not in gymnasium.registry:
    gymnasium.register(id="botify/Session-v0", entry_point="botify.sim.env:SessionEnv")
if "botify/ReturningUser-v0" not in gymnasium.registry:
    gymnasium.register(id="botify/ReturningUser-v0", entry_point="botify.sim.env_days:ReturningUserEnv")

__all__ = ["BatchedEngine", "SessionEnv", "SessionResults", "SimWorld", "load_sim_world"]
