"""The route table is what the service answers: every route, its methods, and the schema it publishes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from botify.experiments import default_plan
from botify.service.app import BotifyApp
from botify.service.openapi import openapi_schema
from botify.service.routes import ROUTES, Route
from botify.world.catalog import Catalog


def call(app: BotifyApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://botify") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def concrete(route: Route) -> str:
    return route.path.replace("{user}", "5").replace("{track}", "7")


@pytest.mark.parametrize("route", ROUTES, ids=[route.path for route in ROUTES])
def test_every_route_answers_its_methods_and_refuses_others_with_405(catalog: Catalog, route: Route) -> None:
    app = BotifyApp(catalog, default_plan(), admin_token="t")
    answer = call(app, route.methods[0], concrete(route), json={"track": 1, "time": 0.5},
                  headers={"Authorization": "Bearer t"})
    assert answer.status_code == 200, answer.text
    other = "GET" if "GET" not in route.methods else "DELETE"
    refused = call(app, other, concrete(route))
    assert refused.status_code == 405 and refused.headers["allow"] == ", ".join(route.methods)
    assert refused.json()["detail"] == f"use {route.methods[0]} for {route.path}"


def test_admin_routes_exist_only_with_a_token_and_unknown_paths_are_404(catalog: Catalog) -> None:
    app = BotifyApp(catalog, default_plan())
    assert call(app, "POST", "/admin/reload").status_code == 404
    assert call(app, "GET", "/nope").status_code == 404 and call(app, "POST", "/next/1/2").status_code == 404


def test_the_published_schema_names_the_public_routes() -> None:
    public = {route.path for route in ROUTES if not route.admin and route.path != "/openapi.json"}
    assert set(openapi_schema(10)["paths"]) == public
