"""Agents that play episodes: in-process, random, remote (HTTP) and console (a person)."""

from botify.sim.agents.base import Agent
from botify.sim.agents.console import ConsoleAgent
from botify.sim.agents.inprocess import ExperimentPolicy, InProcessAgent, InProcessLog
from botify.sim.agents.random import RandomAgent
from botify.sim.agents.remote import RemoteAgent

__all__ = ["Agent", "ConsoleAgent", "ExperimentPolicy", "InProcessAgent", "InProcessLog", "RandomAgent", "RemoteAgent"]
