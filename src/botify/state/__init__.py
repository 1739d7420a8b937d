"""Per-user session state behind a small store interface (in-process now; Redis when replicas share users).

Every online request needs the user's session number and the request's step within the session: they key
the recommenders' counter-based randomness, and the service logs them so that the analysis orders a user's
lines exactly, whichever replica answered. ``next_step`` returns the counters for a ``/next`` request and
advances the step; ``end_session`` (on ``/last``) starts the user's next session.

A request may carry an id (the ``X-Request-Id`` header). A request id seen in the last ``REQUEST_TTL`` seconds
(in-process: up to twice that) is a retry: the store returns the counters it gave the first time, without
advancing them, and ``get_state`` returns the session state as it was before the first attempt. A recommender's
answer is a function of the request, the counters and that state (its draws are counter-based), so the retry
gets the same answer.
"""

from botify.state.memory import InMemoryStore
from botify.state.store import REQUEST_TTL, AsyncStateStore, Counters, StateStore, now_ms

__all__ = ["AsyncStateStore", "Counters", "InMemoryStore", "REQUEST_TTL", "StateStore", "now_ms"]
