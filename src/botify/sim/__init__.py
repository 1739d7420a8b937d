"""The user simulator: the user model, a Gymnasium env, the batched engine and the agents."""

from botify.sim.engine import BatchedEngine, SessionResults
from botify.sim.env import SessionEnv
from botify.sim.world import SimWorld, load_sim_world

__all__ = ["BatchedEngine", "SessionEnv", "SessionResults", "SimWorld", "load_sim_world"]
