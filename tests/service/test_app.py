"""The HTTP contract: status codes and bodies for good and bad requests, and the log lines they leave."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from botify.experiments import ExperimentPlan
from botify.service import app as app_module
from botify.service.app import BotifyApp
from botify.world.catalog import load_catalog

PLAN = ExperimentPlan.from_dict({"seed": 3, "experiments": [
    {"name": "MAIN", "arms": ["random", "sticky_artist", "toppop"]},
    {"name": "SIDE", "arms": ["random", "random"]},
]})


def call(app: BotifyApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://botify") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture()
def app(world_dir: Path, tmp_path: Path) -> BotifyApp:
    return BotifyApp(load_catalog(world_dir), PLAN, log_dir=tmp_path / "log")


def log_lines(app: BotifyApp) -> list[dict[str, Any]]:
    assert app.log is not None
    app.log.flush()
    return [orjson.loads(line) for line in app.log.path.read_bytes().splitlines()]


class TestGoodRequests:
    def test_alive(self, app: BotifyApp) -> None:
        answer = call(app, "GET", "/")
        assert answer.status_code == 200 and answer.json()["status"] == "alive"

    def test_track_metadata(self, app: BotifyApp) -> None:
        answer = call(app, "GET", "/track/7")
        assert answer.status_code == 200
        assert answer.json() == app.catalog.describe(7)

    def test_next_and_last(self, app: BotifyApp) -> None:
        answer = call(app, "POST", "/next/42", json={"track": 10, "time": 0.25})
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {"user", "track"} and body["user"] == 42 and 0 <= body["track"] < app.catalog.n_tracks
        assert call(app, "POST", "/last/42", json={"track": body["track"], "time": 1}).json() == {"user": 42}

    def test_log_lines_carry_every_experiment(self, app: BotifyApp) -> None:
        recommended = call(app, "POST", "/next/5", json={"track": 1, "time": 1.0}).json()["track"]
        call(app, "POST", "/last/5", json={"track": recommended, "time": 0.5})
        first, last = log_lines(app)
        assert list(first) == ["message", "timestamp", "user", "track", "time", "latency", "recommendation",
                               "experiments", "session", "step", "epoch", "propensity"]  # the reference's first
        assert list(last) == list(first)[:-1]  # `last` lines have no propensity
        served = app.recommenders[PLAN.routing.assign(5)]
        assert first["propensity"] == served.probability_one(5, 1, 1.0, 0, 0, recommended) > 0
        assert (first["session"], first["step"]) == (0, 0) and (last["session"], last["step"]) == (0, 1)
        assert first["epoch"] == last["epoch"] == app.store.epoch  # type: ignore[attr-defined]
        assert first["message"] == "next" and first["recommendation"] == recommended and first["time"] == 1.0
        assert last["message"] == "last" and last["recommendation"] is None and last["track"] == recommended
        arms = {e.name: e.arms[e.assign(5)].label for e in PLAN.experiments}
        assert first["experiments"] == last["experiments"] == arms
        assert 0 <= first["latency"] < 1 and first["timestamp"] <= last["timestamp"]

    def test_every_user_keeps_their_arms_when_the_assignment_cache_starts_over(
            self, app: BotifyApp, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(app_module, "_MAX_CACHED_USERS", 16)
        users = [*range(40), *range(40)]  # the second round finds some users cached, others dropped
        for user in users:
            assert call(app, "POST", f"/next/{user}", json={"track": 1, "time": 0.5}).status_code == 200
        lines = log_lines(app)
        assert [line["user"] for line in lines] == users
        for line in lines:
            user = line["user"]
            assert line["experiments"] == {e.name: e.arms[e.assign(user)].label for e in PLAN.experiments}, user
        assert len(app._assignments) <= 16

    def test_a_retried_request_gets_the_same_answer_and_does_not_advance_the_session(self, app: BotifyApp) -> None:
        def next_track(request_id: str) -> int:
            answer = call(app, "POST", "/next/8", json={"track": 3, "time": 0.5},
                          headers={"X-Request-Id": request_id})
            assert answer.status_code == 200
            return int(answer.json()["track"])

        first = next_track("run-1-0")
        assert next_track("run-1-0") == first  # the retry: answered again, the same
        next_track("run-1-1")
        call(app, "POST", "/last/8", json={"track": 1, "time": 0.5}, headers={"X-Request-Id": "run-1-2"})
        call(app, "POST", "/last/8", json={"track": 1, "time": 0.5}, headers={"X-Request-Id": "run-1-2"})
        next_track("run-2-0")
        assert app.retries == 2
        lines = log_lines(app)
        assert [(line["message"], line["session"], line["step"], line["request_id"]) for line in lines] == [
            ("next", 0, 0, "run-1-0"), ("next", 0, 0, "run-1-0"), ("next", 0, 1, "run-1-1"),
            ("last", 0, 2, "run-1-2"), ("last", 0, 2, "run-1-2"), ("next", 1, 0, "run-2-0")]

    def test_the_right_arm_serves(self, app: BotifyApp) -> None:
        main = PLAN.routing
        sticky_user = next(u for u in range(100) if main.assign(u) == 1)
        for step in range(5):
            track = call(app, "POST", f"/next/{sticky_user}", json={"track": 11, "time": 0.5}).json()["track"]
            assert app.catalog.artist_id[track] == app.catalog.artist_id[11], step

    def test_openapi_schema(self, app: BotifyApp) -> None:
        schema = call(app, "GET", "/openapi.json").json()
        assert set(schema["paths"]) == {"/", "/health", "/ready", "/metrics", "/track/{track}", "/next/{user}",
                                        "/last/{user}"}

    def test_health_ready_and_metrics(self, app: BotifyApp) -> None:
        assert call(app, "GET", "/health").json()["status"] == "alive"
        assert call(app, "GET", "/ready").json() == {"ready": True}
        call(app, "POST", "/next/3", json={"track": 1, "time": 0.5})
        call(app, "POST", "/next/3", json={"track": 1, "time": 7})
        text = call(app, "GET", "/metrics").text
        arm = app.routing.arms[app.routing.assign(3)].label
        assert f'botify_requests_total{{endpoint="next",arm="{arm}",status="200"}} 1' in text
        assert 'botify_requests_total{endpoint="next",arm="",status="422"} 1' in text  # refused before routing
        assert f'botify_request_seconds_count{{endpoint="next",arm="{arm}"}} 1' in text
        assert "botify_state_store_errors 0.0" in text and "botify_log_lost_events 0.0" in text

    def test_disk_full_keeps_answering_and_counts_lost_events(self, world_dir: Path, tmp_path: Path) -> None:
        log_dir = tmp_path / "full"
        log_dir.mkdir()
        (log_dir / "data.json").symlink_to("/dev/full")  # every write fails with ENOSPC, as on a full disk
        full = BotifyApp(load_catalog(world_dir), PLAN, log_dir=log_dir)
        for user in range(5):
            assert call(full, "POST", f"/next/{user}", json={"track": 1, "time": 0.5}).status_code == 200
        assert "botify_log_lost_events 5.0" in call(full, "GET", "/metrics").text

    def test_not_ready_while_artifacts_load(self, app: BotifyApp) -> None:
        app.loading = True
        try:
            response = call(app, "GET", "/ready")
        finally:
            app.loading = False
        assert response.status_code == 503 and "artifacts are loading" in response.json()["reason"]


class TestBadRequests:
    @pytest.mark.parametrize(
        ("method", "path", "kwargs", "status", "detail"),
        [
            ("POST", "/next/1", {"json": {"track": 1}}, 422, "missing field(s) ['time']"),
            ("POST", "/next/1", {"json": {"time": 0.3}}, 422, "missing field(s) ['track']"),
            ("POST", "/next/1", {"json": {"track": "7", "time": 0.3}}, 422, "`track` must be an integer, got '7'"),
            ("POST", "/next/1", {"json": {"track": True, "time": 0.3}}, 422, "`track` must be an integer"),
            ("POST", "/next/1", {"json": {"track": 7.5, "time": 0.3}}, 422, "`track` must be an integer, got 7.5"),
            ("POST", "/next/1", {"json": {"track": 1, "time": "x"}}, 422, "`time` must be a number in [0, 1]"),
            ("POST", "/next/1", {"json": {"track": 1, "time": 1.01}}, 422, "`time` must be in [0, 1], got 1.01"),
            ("POST", "/next/1", {"json": {"track": 1, "time": -0.1}}, 422, "`time` must be in [0, 1]"),
            ("POST", "/next/1", {"json": {"track": -3, "time": 0.1}}, 422, "`track` must be >= 0, got -3"),
            ("POST", "/next/1", {"json": {"track": 1, "time": 0.1, "x": 1}}, 422, "unexpected field(s) ['x']"),
            ("POST", "/next/1", {"json": [1, 2]}, 422, "body must be a JSON object"),
            ("POST", "/next/1", {"content": b"{not json"}, 400, "malformed JSON body"),
            ("POST", "/next/1", {"content": b""}, 400, "malformed JSON body"),
            ("POST", "/next/-1", {"json": {"track": 1, "time": 0.1}}, 422, "`user` must be a non-negative integer"),
            ("POST", "/next/abc", {"json": {"track": 1, "time": 0.1}}, 422, "`user` must be a non-negative integer"),
            ("POST", "/next/99999999999999999999", {"json": {"track": 1, "time": 0.1}}, 422, "at most"),
            ("POST", "/next/1", {"json": {"track": 10**9, "time": 0.1}}, 404, "unknown track 1000000000"),
            ("POST", "/last/1", {"json": {"track": 10**9, "time": 0.1}}, 404, "unknown track"),
            ("POST", "/next/1", {"content": b'{"track": 1, "time": 0.1' + b" " * 5000 + b"}"}, 413, "exceeds"),
            ("GET", "/next/1", {}, 405, "use POST"),
            ("POST", "/track/1", {}, 405, "use GET"),
            ("GET", "/track/999999", {}, 404, "unknown track 999999"),
            ("GET", "/track/x", {}, 422, "`track` must be a non-negative integer"),
            ("GET", "/nowhere", {}, 404, "no route GET /nowhere"),
            ("GET", "/next/1/2", {}, 404, "no route"),
            ("POST", "/next/1", {"json": {"track": 1, "time": 0.1}, "headers": {"X-Request-Id": "a b"}}, 422,
             "`X-Request-Id` must be 1 to 128 characters"),
            ("POST", "/last/1", {"json": {"track": 1, "time": 0.1}, "headers": {"X-Request-Id": "x" * 129}}, 422,
             "`X-Request-Id` must be"),
        ],
    )
    def test_client_mistakes_get_a_4xx_with_a_message(
        self, app: BotifyApp, method: str, path: str, kwargs: dict[str, Any], status: int, detail: str
    ) -> None:
        answer = call(app, method, path, **kwargs)
        assert answer.status_code == status
        assert detail in answer.json()["detail"]

    def test_bad_requests_are_not_logged(self, app: BotifyApp) -> None:
        call(app, "POST", "/next/1", json={"track": 1, "time": 3})
        assert log_lines(app) == []
