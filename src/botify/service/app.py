"""The Botify HTTP service: the reference API over the online recommenders.

``GET /`` liveness, ``GET /track/{track}`` public metadata, ``POST /next/{user}`` the next track,
``POST /last/{user}`` the end of a session. Bodies are validated; client mistakes get a 4xx with a message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from botify.experiments import ExperimentPlan
from botify.recommenders.base import Recommender
from botify.recommenders.registry import build_recommender
from botify.service.state import InMemoryStore, StateStore
from botify.world.catalog import Catalog

__all__ = ["TrackTime", "create_app"]


class TrackTime(BaseModel):
    """Body of ``/next`` and ``/last``: the last played track and its listened fraction."""

    model_config = ConfigDict(extra="forbid", strict=True)

    track: int = Field(ge=0, description="id of the track just played")
    time: float = Field(ge=0.0, le=1.0, description="listened fraction of it, in [0, 1]")


class NextAnswer(BaseModel):
    """The recommended next track."""

    user: int
    track: int


class LastAnswer(BaseModel):
    """Acknowledges the end of a session."""

    user: int


UserId = Annotated[int, Path(ge=0, description="user id")]


def create_app(catalog: Catalog, plan: ExperimentPlan, *, store: StateStore | None = None) -> FastAPI:
    """Build the ASGI app for a catalog and an experiment plan."""
    app = FastAPI(title="Botify", version="1", description="Next-track recommendation service")
    routing = plan.routing
    recommenders: list[Recommender] = [
        build_recommender(arm.recommender, catalog, arm.params, random_state=plan.seed) for arm in routing.arms
    ]
    state = store or InMemoryStore()

    def check_track(track: int) -> None:
        if track >= catalog.n_tracks:
            raise HTTPException(404, f"unknown track {track}: the catalog has tracks 0..{catalog.n_tracks - 1}")

    @app.get("/")
    async def alive() -> dict[str, str]:
        return {"status": "alive", "message": "Botify service is up and recommending"}

    @app.get("/track/{track}")
    async def track_info(track: Annotated[int, Path(ge=0)]) -> dict[str, Any]:
        check_track(track)
        return catalog.describe(track)

    @app.post("/next/{user}")
    async def next_track(user: UserId, body: TrackTime) -> NextAnswer:
        check_track(body.track)
        counters = state.next_step(user)
        recommender = recommenders[routing.assign(user)]
        track = recommender.recommend(user, body.track, body.time, counters.session, counters.step)
        return NextAnswer(user=user, track=track)

    @app.post("/last/{user}")
    async def last_track(user: UserId, body: TrackTime) -> LastAnswer:
        check_track(body.track)
        state.end_session(user)
        return LastAnswer(user=user)

    return app
