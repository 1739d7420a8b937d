"""The Botify HTTP service: the reference API as a lean ASGI app.

``GET /`` and ``GET /health`` liveness, ``GET /ready`` readiness (503 while artifacts reload or when the
Redis state store is unreachable), ``GET /metrics`` Prometheus metrics, ``GET /track/{track}`` public
metadata, ``POST /next/{user}`` the next track, ``POST /last/{user}`` the end of a session,
``GET /openapi.json`` the schema. ``POST /admin/reload``
(only with an admin token) and ``SIGHUP`` reload the recommenders' artifacts (newest versions) in a worker
thread and swap them in atomically; a corrupt or mismatched artifact is refused and the previous ones keep
serving. A raw ASGI app with orjson
keeps the per-request path short (see ``benchmarks/bench_service.py``); every client mistake is a 4xx with a
``{"detail": ...}`` body that says what is wrong, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import os
import re
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from botify.errors import LabError
from botify.experiments import ExperimentPlan
from botify.recommenders.base import Recommender
from botify.recommenders.interleave import InterleaveRecommender
from botify.recommenders.registry import build_plan_recommenders
from botify.service.eventlog import EventLog, event_line
from botify.service.metrics import ServiceMetrics
from botify.service.openapi import MAX_BODY_BYTES, openapi_schema
from botify.service.routes import ROUTES, Route
from botify.state import AsyncStateStore, Counters, InMemoryStore, StateStore, now_ms
from botify.world.catalog import Catalog

__all__ = ["BotifyApp", "HTTPError"]

logger = logging.getLogger("botify.service")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive, str, float], Awaitable[tuple[int, bytes]]]

_JSON_HEADERS = [(b"content-type", b"application/json")]
_METRICS_HEADERS = [(b"content-type", b"text/plain; version=0.0.4")]
_ENDPOINTS = frozenset(route.endpoint for route in ROUTES)
_MAX_ID = 2**63 - 1
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_CACHED_USERS = 1 << 20  # the assignment cache starts over past this many users (≈ 130 MiB at most)


class HTTPError(Exception):
    """A client error: status code and a message for the ``detail`` field."""

    def __init__(self, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = headers or []

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}"


def _parse_id(raw: str, name: str) -> int:
    if raw.isdigit() and raw.isascii():
        value = int(raw)
        if value <= _MAX_ID:
            return value
    raise HTTPError(422, f"`{name}` must be a non-negative integer (at most {_MAX_ID}), got {raw!r}")


def _request_id(scope: dict[str, Any]) -> str | None:
    """The ``X-Request-Id`` header: a retry of the same request carries the same id."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if not _REQUEST_ID.fullmatch(text):
                raise HTTPError(422, f"`X-Request-Id` must be 1 to 128 characters of A-Z a-z 0-9 . _ : -, "
                                     f"got {text[:140]!r}")
            return text
    return None


def _parse_track_time(body: bytes) -> tuple[int, float]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise HTTPError(400, f"malformed JSON body: {error}") from None
    if not isinstance(data, dict):
        raise HTTPError(422, f"body must be a JSON object with `track` and `time`, got {type(data).__name__}")
    missing = [name for name in ("track", "time") if name not in data]
    if missing:
        raise HTTPError(422, f"missing field(s) {missing}; expected {{\"track\": int, \"time\": float in [0, 1]}}")
    if len(data) > 2:
        raise HTTPError(422, f"unexpected field(s) {sorted(set(data) - {'track', 'time'})}; allowed: track, time")
    track, listened = data["track"], data["time"]
    if isinstance(track, float) and track.is_integer():  # JSON Schema counts 1054.0 as an integer
        track = int(track)
    if not isinstance(track, int) or isinstance(track, bool):
        raise HTTPError(422, f"`track` must be an integer, got {track!r}")
    if track < 0:
        raise HTTPError(422, f"`track` must be >= 0, got {track}")
    if not isinstance(listened, int | float) or isinstance(listened, bool) or not math.isfinite(listened):
        raise HTTPError(422, f"`time` must be a number in [0, 1], got {listened!r}")
    if not 0.0 <= listened <= 1.0:
        raise HTTPError(422, f"`time` must be in [0, 1], got {listened}")
    return track, float(listened)


class BotifyApp:
    """The ASGI application.

    Parameters
    ----------
    catalog : the public catalog.
    plan : experiments; the first routes requests, all are logged.
    log_dir : where the event log goes (``None``: no log).
    store : per-user session counters (default: in-process).
    """

    def __init__(self, catalog: Catalog, plan: ExperimentPlan, *, log_dir: str | Path | None = None,
                 log_filename: str = "data.json", log_max_bytes: int = 64 << 20,
                 store: StateStore | None = None, artifacts: str | Path | None = None,
                 admin_token: str | None = None) -> None:
        self.catalog = catalog
        self.plan = plan
        self.routing = plan.routing
        self.artifacts = artifacts
        self.admin_token = admin_token
        self.store = store or InMemoryStore()
        self._async_store = self.store if isinstance(self.store, AsyncStateStore) else None
        self.recommenders = self._build_recommenders()
        self.reloads = 0
        self.retries = 0
        self.log = EventLog(log_dir, filename=log_filename, max_bytes=log_max_bytes) if log_dir else None
        self._n_tracks = catalog.n_tracks
        self._schema = orjson.dumps(openapi_schema(catalog.n_tracks))
        self._alive = orjson.dumps({"status": "alive", "message": "Botify service is up and recommending"})
        self._labels = [[arm.label for arm in e.arms] for e in plan.experiments]
        self._assignments: dict[int, tuple[int, dict[str, str]]] = {}
        self._arm_combinations: dict[tuple[int, ...], dict[str, str]] = {}  # few: shared by the cache's entries
        self.loading = False
        self.metrics = ServiceMetrics()
        served = [route for route in ROUTES if admin_token is not None or not route.admin]
        self._routes: dict[str, tuple[Route, Handler]] = {
            route.prefix: (route, getattr(self, route.handler)) for route in served if not route.with_id}
        self._routes_with_id: dict[str, tuple[Route, Handler]] = {
            route.prefix: (route, getattr(self, route.handler)) for route in served if route.with_id}
        self.metrics.gauge("botify_state_store_errors", "State-store calls that failed (Redis unreachable).",
                           lambda: float(getattr(self.store, "errors", 0)))
        self.metrics.gauge("botify_state_store_round_trips", "Round trips to the state store (Redis).",
                           lambda: float(getattr(self.store, "round_trips", 0)))
        self.metrics.gauge("botify_state_store_fallback_calls",
                           "Requests answered from in-process counters while Redis was unreachable.",
                           lambda: float(getattr(self.store, "fallback_calls", 0)))
        self.metrics.gauge("botify_log_lost_events", "Events the log could not write (disk full, unwritable).",
                           lambda: float(self.log.lost_events if self.log is not None else 0))
        self.metrics.gauge("botify_retried_requests", "Requests whose X-Request-Id was seen before: answered from "
                           "their first attempt's counters and state.", lambda: float(self.retries))
        self.metrics.gauge("botify_artifact_reloads", "Successful artifact reloads.", lambda: float(self.reloads))

    def describe(self) -> str:
        """The start-up facts: catalog, experiments and arms, state store, log file, process."""
        experiments = "; ".join(f"{e.name}: {', '.join(a.label for a in e.arms)}" for e in self.plan.experiments)
        log = self.log.path if self.log is not None else "none"
        return (f"serving {self._n_tracks:,} tracks, experiments [{experiments}], routing by "
                f"{self.routing.name}, state {type(self.store).__name__}, event log {log}, pid {os.getpid()}")

    def _build_recommenders(self) -> list[Recommender]:
        return build_plan_recommenders(self.plan, self.catalog, artifacts=self.artifacts, store=self.store)

    async def reload(self) -> list[dict[str, Any]]:
        """Rebuild every recommender (newest artifacts) off the event loop, then swap them in at once.

        Raises ``LabError`` (and keeps the current recommenders) if any artifact is missing or invalid.
        """
        self.loading = True
        try:
            fresh = await asyncio.get_running_loop().run_in_executor(None, self._build_recommenders)
        finally:
            self.loading = False
        self.recommenders = fresh
        self.reloads += 1
        return [recommender.get_config() for recommender in fresh]

    async def _reload_on_signal(self) -> None:
        try:
            configs = await self.reload()
        except LabError as error:
            logger.warning("reload refused, still serving the previous artifacts: %s", error)
        else:
            logger.info("reloaded: %s", configs)

    def experiments_of(self, user: int) -> dict[str, str]:
        """``{experiment name: arm label}`` of a user for every active experiment (a copy of the log's)."""
        return dict(self._assignment(user)[1])

    def _assignment(self, user: int) -> tuple[int, dict[str, str]]:
        """The routing arm and ``experiments_of`` of a user, hashed once per user (a session asks many times)."""
        found = self._assignments.get(user)
        if found is None:
            if len(self._assignments) >= _MAX_CACHED_USERS:
                self._assignments.clear()
            arms = tuple(e.assign(user) for e in self.plan.experiments)
            experiments = self._arm_combinations.get(arms)
            if experiments is None:
                named = zip(self.plan.experiments, self._labels, arms, strict=True)
                experiments = self._arm_combinations[arms] = {e.name: labels[arm] for e, labels, arm in named}
            found = self._assignments[user] = (arms[0], experiments)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point: HTTP requests and lifespan events."""
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def started(self) -> None:
        """The server is up (on its event loop): SIGHUP reloads the plan, and the service says what it serves."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_on_signal()))
        logger.info("%s", self.describe())

    def stopped(self) -> None:
        """The server answered its last request: the log is flushed and closed."""
        if self.log is not None:
            self.log.close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.started()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stopped()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        scope["botify.arm"] = ""
        status, headers, body = await self.answer(scope, receive, started)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        self.observe(scope, status, started)

    async def answer(self, scope: Scope, receive: Receive,
                     started: float) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """``(status, headers, body)`` of one request (``scope`` as ASGI's, with ``"botify.arm": ""``).

        The client's mistakes are 4xx with a message; a bug is a 500, logged with its traceback.
        """
        headers = _JSON_HEADERS
        try:
            status, body = await self._route(scope, receive, started)
            if scope["path"] == "/metrics":
                headers = _METRICS_HEADERS
        except HTTPError as error:
            status, body = error.status, orjson.dumps({"detail": error.detail})
            headers = _JSON_HEADERS + error.headers
        except Exception:  # a bug, not the client's mistake: answer 500 and log its traceback, keep serving
            logger.exception("internal error on %s %s", scope["method"], scope["path"])
            status, body = 500, orjson.dumps({"detail": "internal error"})
        return status, headers, body

    def hold_log(self) -> None:
        """From now on, queue the log lines until ``flush_log``.

        A front end that answers many requests in one turn of the event loop writes their lines in one write; it
        must call ``flush_log`` before any of their answers leaves.
        """
        if self.log is not None:
            self.log.held = True

    def flush_log(self) -> None:
        """Write the queued log lines, in one write."""
        if self.log is not None:
            self.log.flush()

    def observe(self, scope: Scope, status: int, started: float) -> None:
        """Count an answered request in ``/metrics`` (its endpoint, arm, status and latency)."""
        endpoint = scope["path"].strip("/").split("/", 1)[0] or "root"
        self.metrics.observe(endpoint if endpoint in _ENDPOINTS else "other", scope["botify.arm"], status,
                             time.perf_counter() - started)

    async def _route(self, scope: Scope, receive: Receive, started: float) -> tuple[int, bytes]:
        path = scope["path"]
        parts = path.strip("/").split("/")
        found = self._routes_with_id.get(parts[0]) if len(parts) == 2 else None
        if found is None:
            found = self._routes.get(path)
        if found is None:
            raise HTTPError(404, f"no route {scope['method']} {path}; see /openapi.json")
        route, handler = found
        if scope["method"] not in route.methods:
            raise HTTPError(405, f"use {route.methods[0]} for {route.path}",
                            [(b"allow", ", ".join(route.methods).encode())])
        return await handler(scope, receive, parts[-1], started)

    async def _session_request(self, scope: Scope, receive: Receive, user_id: str) -> tuple[int, float, str | None,
                                                                                             int, int]:
        """``(user, track, listened, request id, arm)`` of a ``/next`` or ``/last`` request, validated."""
        user = _parse_id(user_id, "user")
        track, listened = _parse_track_time(await self._read_body(scope, receive))
        self._check_track(track)
        arm = self._assignment(user)[0]
        scope["botify.arm"] = self.routing.arms[arm].label
        return user, listened, _request_id(scope), track, arm

    # A retry gets its first attempt's counters and state from the store: the same answer, recomputed.
    async def next_track(self, scope: Scope, receive: Receive, user_id: str, started: float) -> tuple[int, bytes]:
        """``POST /next/{user}``: the next track, logged before the answer."""
        user, listened, request_id, track, arm = await self._session_request(scope, receive, user_id)
        store = self._async_store
        if store is None:
            counters = self.store.next_step(user, request_id)
            body = self._next(user, arm, track, listened, started, request_id, counters)
            self.store.sync()  # the state this request wrote is shared before the user can ask again
            return 200, body
        counters = await store.next_step_async(user, request_id)
        body = self._next(user, arm, track, listened, started, request_id, counters)
        await store.sync_async()
        return 200, body

    async def last_track(self, scope: Scope, receive: Receive, user_id: str, started: float) -> tuple[int, bytes]:
        """``POST /last/{user}``: the end of a session, logged before the answer."""
        user, listened, request_id, track, _ = await self._session_request(scope, receive, user_id)
        store = self._async_store
        if store is None:
            counters = self.store.end_session(user, request_id)
        else:
            counters = await store.end_session_async(user, request_id)
        return 200, self._last(user, track, listened, started, request_id, counters)

    async def track_metadata(self, scope: Scope, receive: Receive, track_id: str, started: float) -> tuple[int, bytes]:
        """``GET /track/{track}``: public metadata."""
        track = _parse_id(track_id, "track")
        self._check_track(track)
        return 200, orjson.dumps(self.catalog.describe(track))

    async def alive(self, scope: Scope, receive: Receive, segment: str, started: float) -> tuple[int, bytes]:
        """``GET /`` and ``GET /health``: liveness."""
        return 200, self._alive

    async def ready(self, scope: Scope, receive: Receive, segment: str, started: float) -> tuple[int, bytes]:
        """``GET /ready``: readiness."""
        return self._ready()

    async def prometheus_metrics(self, scope: Scope, receive: Receive, segment: str,
                                 started: float) -> tuple[int, bytes]:
        """``GET /metrics``: Prometheus text."""
        return 200, self.metrics.render()

    async def openapi(self, scope: Scope, receive: Receive, segment: str, started: float) -> tuple[int, bytes]:
        """``GET /openapi.json``: the schema."""
        return 200, self._schema

    async def admin_reload(self, scope: Scope, receive: Receive, segment: str, started: float) -> tuple[int, bytes]:
        """``POST /admin/reload`` with the admin token: reload the newest artifacts."""
        given = dict(scope["headers"]).get(b"authorization", b"")
        expected = f"Bearer {self.admin_token}".encode()
        if not hmac.compare_digest(given, expected):
            raise HTTPError(401, "admin calls need the header `Authorization: Bearer <admin token>`",
                            [(b"www-authenticate", b"Bearer")])
        try:
            configs = await self.reload()
        except LabError as error:
            raise HTTPError(409, f"reload refused, still serving the previous artifacts: {error}") from None
        return 200, orjson.dumps({"reloaded": configs})

    def _ready(self) -> tuple[int, bytes]:
        if self.loading:
            return 503, orjson.dumps({"ready": False, "reason": "artifacts are loading"})
        ping = getattr(self.store, "ping", None)
        if ping is not None and not ping():
            return 503, orjson.dumps({"ready": False, "reason": "state store (Redis) unreachable: degraded, "
                                                                "sessions start anew"})
        return 200, orjson.dumps({"ready": True})

    def _check_track(self, track: int) -> None:
        if track >= self._n_tracks:
            raise HTTPError(404, f"unknown track {track}: the catalog has tracks 0..{self._n_tracks - 1}")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
                raise HTTPError(413, f"request body of {int(value)} bytes exceeds the limit of {MAX_BODY_BYTES}")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HTTPError(400, "client disconnected before sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise HTTPError(413, f"request body exceeds the limit of {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _next(self, user: int, arm: int, track: int, listened: float, started: float,
              request_id: str | None, counters: Counters) -> bytes:
        self.retries += counters.retry
        recommender = self.recommenders[arm]
        recommendation = recommender.recommend(user, track, listened, counters.session, counters.step)
        propensity = recommender.probability_one(user, track, listened, counters.session, counters.step,
                                                 recommendation)
        team = recommender.team_one(user, counters.session, counters.step) \
            if isinstance(recommender, InterleaveRecommender) else None
        self._log("next", user, track, listened, started, recommendation, counters, request_id, propensity, team)
        return orjson.dumps({"user": user, "track": recommendation})

    def _last(self, user: int, track: int, listened: float, started: float, request_id: str | None,
              counters: Counters) -> bytes:
        self.retries += counters.retry
        self._log("last", user, track, listened, started, None, counters, request_id)
        return orjson.dumps({"user": user})

    def _log(self, message: str, user: int, track: int, listened: float, started: float,
             recommendation: int | None, counters: Counters, request_id: str | None,
             propensity: float | None = None, team: int | None = None) -> None:
        if self.log is None:
            return
        # written now, before the answer is sent: a kill -9 loses no answered request
        self.log.write(event_line(message, now_ms(), user, track, listened,
                                   time.perf_counter() - started, recommendation, self._assignment(user)[1],
                                   counters, request_id, propensity, team))
