"""My recommender: the user's DSSM list in order, nearest first, never a track twice, at most N per artist.

The lab's DSSM arm (the control) picks a random track of the user's list for every request. This one walks the
list in order, nearest first, skips tracks the session already played and artists it already played
``max_per_artist`` times (users listen less to each repeat of an artist), and falls back to a random unplayed
track when the list runs out. The session's progress lives in the state store, so every replica of the service
sees it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from botify import StatefulRecommender

_FALLBACK_STREAM = 1  # independent counter-based draws for the fallback


class InOrder(StatefulRecommender):
    """DSSM list in order, no repeats, at most ``max_per_artist`` tracks per artist in a session."""

    name = "in_order"

    def __init__(self, catalog: Any, *, dssm: Any, max_per_artist: int = 2, store: Any = None,
                 random_state: int | None = None) -> None:
        super().__init__(catalog, store=store, random_state=random_state)
        if max_per_artist < 1:
            raise ValueError(f"max_per_artist must be >= 1, got {max_per_artist}")
        self.dssm = dssm
        self.max_per_artist = max_per_artist
        self.lists = np.asarray(dssm.arrays["items"])  # users x k, nearest first, -1 pads
        self.row_of = {int(user): row for row, user in enumerate(dssm.arrays["users"])}
        self.artist_of = catalog.artist_id.tolist()

    def parameters(self) -> dict[str, Any]:
        return {"dssm": self.dssm.ref, "max_per_artist": self.max_per_artist}

    def recommend(self, user: int, track: int, time: float, session: int = 0, step: int = 0) -> int:
        raw = self.store.get_state(user)
        state = json.loads(raw) if raw is not None else None
        if state is None or state["session"] != session:
            state = {"session": session, "position": 0, "played": []}
        played = set(state["played"]) | {track}
        per_artist: dict[int, int] = {}
        for seen in played:
            per_artist[self.artist_of[seen]] = per_artist.get(self.artist_of[seen], 0) + 1

        choice = -1
        row = self.row_of.get(user)
        items = self.lists[row].tolist() if row is not None else []
        position = state["position"]
        while position < len(items) and choice < 0:
            candidate = items[position]
            position += 1
            if candidate >= 0 and candidate not in played and \
                    per_artist.get(self.artist_of[candidate], 0) < self.max_per_artist:
                choice = candidate
        stream = _FALLBACK_STREAM
        while choice < 0 or choice in played:  # the list ran out: a random unplayed track
            choice = self.draw_one(self.catalog.n_tracks, user, session, step, stream)
            stream += 1

        state.update(position=position, played=sorted(played | {choice}))
        self.store.put_state(user, json.dumps(state).encode())
        return choice
