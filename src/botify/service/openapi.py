"""The OpenAPI 3.1 schema of the service, published at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_BODY_BYTES", "openapi_schema"]

MAX_BODY_BYTES = 4096


def _json(ref: str, description: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ref}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json("Error", "client error: the detail says what is wrong")


def openapi_schema(n_tracks: int) -> dict[str, Any]:
    """The schema for a catalog of ``n_tracks`` tracks."""
    user = {"name": "user", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0,
                                                                        "maximum": 2**63 - 1}}
    track = {"name": "track", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}}
    request_id = {"name": "X-Request-Id", "in": "header", "required": False,
                  "description": "the request's identity: a retry carries the same id, is answered the same and "
                                 "is counted once",
                  "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}}
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TrackTime"}}}}
    errors = {"400": _ERROR, "404": _ERROR, "405": _ERROR, "413": _ERROR, "422": _ERROR}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Botify", "version": "1", "description": "Next-track recommendation service"},
        "paths": {
            "/": {"get": {"operationId": "alive", "responses": {"200": _json("Alive", "the service is up")}}},
            "/health": {"get": {"operationId": "health", "responses": {"200": _json("Alive", "liveness")}}},
            "/ready": {"get": {"operationId": "ready", "responses": {
                "200": _json("Ready", "ready to serve"),
                "503": _json("Ready", "not ready: artifacts loading or the state store unreachable")}}},
            "/metrics": {"get": {"operationId": "metrics", "responses": {"200": {
                "description": "Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/track/{track}": {"get": {"operationId": "track", "parameters": [track],
                                       "responses": {"200": _json("Track", "public metadata"), **errors}}},
            "/next/{user}": {"post": {"operationId": "next", "parameters": [user, request_id], "requestBody": body,
                                      "responses": {"200": _json("Next", "the next track"), **errors}}},
            "/last/{user}": {"post": {"operationId": "last", "parameters": [user, request_id], "requestBody": body,
                                      "responses": {"200": _json("Last", "session ended"), **errors}}},
        },
        "components": {
            "schemas": {
                "TrackTime": {
                    "type": "object", "additionalProperties": False, "required": ["track", "time"],
                    "properties": {"track": {"type": "integer", "minimum": 0, "maximum": n_tracks - 1},
                                   "time": {"type": "number", "minimum": 0, "maximum": 1}},
                },
                "Next": {"type": "object", "required": ["user", "track"],
                         "properties": {"user": {"type": "integer"}, "track": {"type": "integer"}}},
                "Last": {"type": "object", "required": ["user"], "properties": {"user": {"type": "integer"}}},
                "Alive": {"type": "object", "required": ["status", "message"],
                          "properties": {"status": {"type": "string"}, "message": {"type": "string"}}},
                "Track": {"type": "object", "required": ["track", "artist", "title", "genre", "popularity"],
                          "properties": {"track": {"type": "integer"}, "artist": {"type": "string"},
                                         "title": {"type": "string"}, "genre": {"type": "string"},
                                         "popularity": {"type": "number"}}},
                "Ready": {"type": "object", "required": ["ready"],
                          "properties": {"ready": {"type": "boolean"}, "reason": {"type": "string"}}},
                "Error": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
            }
        },
    }
