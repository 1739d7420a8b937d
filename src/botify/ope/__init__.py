"""Off-policy evaluation: a target arm's value estimated from another policy's logged day.

- ``estimators``: IPS, SNIPS, DM, DR and the session-level PDIS estimators, with bootstrap intervals;
- ``decisions``: the logged ``next`` decisions and their rewards, read by the project's log reader;
- ``reward``: DM's reward model fitted on those decisions;
- ``targets``: the candidate arms, the logging mixture over them, and one arm's estimates.
"""

from botify.ope.decisions import Decisions, read_decisions
from botify.ope.estimators import Estimate, Logged, estimate_all
from botify.ope.reward import RewardModel
from botify.ope.targets import REPLAYED, TARGETS, estimate_arm, mixture_plan, target_logged

__all__ = ["Decisions", "Estimate", "Logged", "REPLAYED", "RewardModel", "TARGETS", "estimate_all", "estimate_arm",
           "mixture_plan", "read_decisions", "target_logged"]
