"""Artifact-backed arms: served lists, admin reload, and refusing a corrupt new version while serving the old."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from botify.artifacts import ArtifactError, save_artifact
from botify.errors import ConfigError
from botify.experiments import ExperimentPlan
from botify.service.app import BotifyApp
from botify.world.catalog import Catalog

PLAN = ExperimentPlan.from_dict({"seed": 1, "experiments": [
    {"name": "E", "arms": [{"recommender": "indexed", "params": {"artifact": "lists"}}]}]})
TOKEN = "s3cret"


def call(app: BotifyApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://botify") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def save_lists(root: Path, catalog: Catalog, track: int) -> None:
    save_artifact(root, "lists", "indexed", {"users": np.arange(10, dtype=np.int64),
                                              "items": np.full((10, 3), track, dtype=np.int32)}, catalog)


def next_track(app: BotifyApp, user: int = 3) -> int:
    return int(call(app, "POST", f"/next/{user}", json={"track": 0, "time": 1.0}).json()["track"])


class TestReload:
    def test_serves_the_list_and_reloads_a_new_version(self, catalog: Catalog, tmp_path: Path) -> None:
        save_lists(tmp_path, catalog, 42)
        app = BotifyApp(catalog, PLAN, artifacts=tmp_path, admin_token=TOKEN)
        assert next_track(app) == 42
        save_lists(tmp_path, catalog, 77)
        answer = call(app, "POST", "/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200 and answer.json()["reloaded"][0]["artifact"] == "lists/v0002"
        assert next_track(app) == 77

    def test_corrupt_new_version_is_refused_and_the_old_keeps_serving(self, catalog: Catalog,
                                                                      tmp_path: Path) -> None:
        save_lists(tmp_path, catalog, 42)
        app = BotifyApp(catalog, PLAN, artifacts=tmp_path, admin_token=TOKEN)
        save_lists(tmp_path, catalog, 77)
        (tmp_path / "lists" / "v0002" / "items.npy").write_bytes(b"broken")
        answer = call(app, "POST", "/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 409
        assert "still serving the previous artifacts" in answer.json()["detail"]
        assert "corrupt or missing items.npy" in answer.json()["detail"]
        assert next_track(app) == 42

    def test_unknown_users_fall_back_to_random(self, catalog: Catalog, tmp_path: Path) -> None:
        save_lists(tmp_path, catalog, 42)
        app = BotifyApp(catalog, PLAN, artifacts=tmp_path)
        assert {next_track(app, user=1000 + u) for u in range(20)} != {42}

    def test_admin_needs_the_token_and_is_off_by_default(self, catalog: Catalog, tmp_path: Path) -> None:
        save_lists(tmp_path, catalog, 42)
        guarded = BotifyApp(catalog, PLAN, artifacts=tmp_path, admin_token=TOKEN)
        assert call(guarded, "POST", "/admin/reload").status_code == 401
        assert call(guarded, "POST", "/admin/reload", headers={"Authorization": "Bearer nope"}).status_code == 401
        off = BotifyApp(catalog, PLAN, artifacts=tmp_path)
        assert call(off, "POST", "/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404

    def test_start_up_refuses_missing_artifacts(self, catalog: Catalog, tmp_path: Path) -> None:
        with pytest.raises(ArtifactError, match="no artifact 'lists'"):
            BotifyApp(catalog, PLAN, artifacts=tmp_path)
        with pytest.raises(ConfigError, match="pass an artifacts directory"):
            BotifyApp(catalog, PLAN)
