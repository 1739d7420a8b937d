"""The course's precomputed files, read with file:line errors and written back in the course's format.

- per-user lists, JSON lines ``{"user": 7, "tracks": [12, 40, …]}`` (``recommendations_*.json``);
- per-track lists, JSON lines ``{"track": 12, "recommendations": [40, 3, …]}`` (``tracks_with_recs.json``,
  ``recommendations_contextual.json``);
- ``top_tracks.json``: one JSON list of track ids, most popular first.

Every id is checked: a key appears once, a track id lies in the catalog. The first problem raises
``ConfigError`` naming the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botify.errors import ConfigError

__all__ = ["FIELDS", "TOP_TRACKS", "TRACK_LISTS", "USER_LISTS", "detect_format", "from_arrays", "read_file",
           "read_lists", "read_top_tracks", "to_arrays", "write_file", "write_lists", "write_top_tracks"]

USER_LISTS, TRACK_LISTS, TOP_TRACKS = "user lists", "track lists", "top tracks"
FIELDS = {USER_LISTS: ("user", "tracks"), TRACK_LISTS: ("track", "recommendations")}
"""Each list format's key field and list field."""


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def detect_format(path: Path) -> str:
    """``USER_LISTS``, ``TRACK_LISTS`` or ``TOP_TRACKS``, from the file's first line."""
    try:
        with path.open() as handle:
            first = next((line for line in handle if line.strip()), "")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror})") from error
    if first.lstrip().startswith("["):
        return TOP_TRACKS
    try:
        record = json.loads(first)
    except ValueError:
        raise ConfigError(f"{path}:1: not JSON: expected a list of track ids (top_tracks.json) or JSON lines "
                          "with user/tracks or track/recommendations") from None
    for name, (key, values) in FIELDS.items():
        if isinstance(record, dict) and key in record and values in record:
            return name
    found = sorted(record) if isinstance(record, dict) else record
    raise ConfigError(f"{path}:1: not a course file: expected lines with user/tracks or track/recommendations, "
                      f"got {found!r}")


def read_lists(path: Path, *, key: str, values: str, n_tracks: int | None = None) -> dict[int, list[int]]:
    """``{key: list}`` of a JSON-lines file; each key once, every track id in ``[0, n_tracks)`` when given."""
    lists: dict[int, list[int]] = {}
    first_line: dict[int, int] = {}
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except ValueError as error:
                raise ConfigError(f"{where}: not JSON ({error})") from None
            if not isinstance(record, dict) or key not in record or values not in record:
                raise ConfigError(f"{where}: expected an object with {key!r} and {values!r}")
            owner, tracks = record[key], record[values]
            if not _is_id(owner):
                raise ConfigError(f"{where}: {key!r} must be a non-negative integer, got {owner!r}")
            if n_tracks is not None and key == "track" and owner >= n_tracks:
                raise ConfigError(f"{where}: track {owner} is outside the catalog 0..{n_tracks - 1}")
            if owner in first_line:
                raise ConfigError(f"{where}: {key} {owner} again (first on line {first_line[owner]})")
            if not isinstance(tracks, list) or not all(_is_id(t) for t in tracks):
                raise ConfigError(f"{where}: {values!r} must be a list of non-negative integer track ids")
            if n_tracks is not None and any(t >= n_tracks for t in tracks):
                outside = next(t for t in tracks if t >= n_tracks)
                raise ConfigError(f"{where}: track {outside} is outside the catalog 0..{n_tracks - 1}")
            first_line[owner] = number
            lists[owner] = tracks
    if not lists:
        raise ConfigError(f"{path}: no {key} in it")
    return lists


def read_top_tracks(path: Path, n_tracks: int | None = None) -> list[int]:
    """The list of ``top_tracks.json``, each id once and in the catalog."""
    try:
        tracks = json.loads(path.read_text())
    except ValueError as error:
        raise ConfigError(f"{path}:{getattr(error, 'lineno', 1)}: not JSON ({error})") from None
    if not isinstance(tracks, list) or not tracks or not all(_is_id(t) for t in tracks):
        raise ConfigError(f"{path}:1: expected a non-empty JSON list of non-negative integer track ids")
    seen: set[int] = set()
    for track in tracks:
        if n_tracks is not None and track >= n_tracks:
            raise ConfigError(f"{path}:1: track {track} is outside the catalog 0..{n_tracks - 1}")
        if track in seen:
            raise ConfigError(f"{path}:1: track {track} is listed twice")
        seen.add(track)
    return tracks


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


def write_lists(path: Path, lists: Mapping[int, list[int]], *, key: str, values: str) -> None:
    """JSON lines ``{key: …, values: […]}``, by key."""
    _write_atomically(path, "".join(json.dumps({key: owner, values: lists[owner]}) + "\n" for owner in sorted(lists)))


def write_top_tracks(path: Path, tracks: list[int]) -> None:
    """One JSON list."""
    _write_atomically(path, json.dumps(tracks) + "\n")


def to_arrays(kind: str, content: dict[int, list[int]] | list[int], n_tracks: int) -> tuple[str, dict[str, Any]]:
    """A course file's content as a lab artifact's kind and arrays (lists padded with -1)."""
    import numpy as np

    if kind == TOP_TRACKS:
        assert isinstance(content, list)
        popularity = np.zeros(n_tracks, dtype=np.float64)
        popularity[np.array(content, dtype=np.int64)] = np.arange(len(content), 0, -1, dtype=np.float64)
        return "popularity", {"popularity": popularity}
    assert isinstance(content, dict)
    width = max((len(tracks) for tracks in content.values()), default=0)

    def padded(keys: list[int]) -> Any:
        rows = np.full((len(keys), width), -1, dtype=np.int32)
        for row, key in enumerate(keys):
            tracks = content.get(key, [])
            rows[row, :len(tracks)] = tracks
        return rows

    if kind == USER_LISTS:
        users = sorted(content)
        return "indexed", {"users": np.array(users, dtype=np.int64), "items": padded(users)}
    return "item_lists", {"lists": padded(list(range(n_tracks)))}


def from_arrays(artifact_kind: str, arrays: Mapping[str, Any]) -> tuple[str, dict[int, list[int]] | list[int]]:
    """A lab artifact's arrays as a course file's format and content (the inverse of ``to_arrays``)."""
    import numpy as np

    if artifact_kind == "popularity":
        popularity = np.asarray(arrays["popularity"])
        ranked = np.argsort(-popularity, kind="stable")
        return TOP_TRACKS, [int(t) for t in ranked if popularity[t] > 0]
    if artifact_kind == "indexed":
        users, items = np.asarray(arrays["users"]), np.asarray(arrays["items"])
        return USER_LISTS, {int(u): [int(t) for t in row if t >= 0] for u, row in zip(users, items, strict=True)}
    lists = np.asarray(arrays["lists"])
    return TRACK_LISTS, {track: [int(t) for t in row if t >= 0] for track, row in enumerate(lists) if (row >= 0).any()}


def read_file(path: Path, n_tracks: int) -> tuple[str, dict[int, list[int]] | list[int]]:
    """Any course file: its format and content, every id checked against a catalog of ``n_tracks``."""
    kind = detect_format(path)
    if kind == TOP_TRACKS:
        return kind, read_top_tracks(path, n_tracks)
    key, values = FIELDS[kind]
    return kind, read_lists(path, key=key, values=values, n_tracks=n_tracks)


def write_file(path: Path, kind: str, content: dict[int, list[int]] | list[int]) -> None:
    """Write ``content`` in the course's ``kind`` of file."""
    if kind == TOP_TRACKS:
        assert isinstance(content, list)
        write_top_tracks(path, content)
    else:
        assert isinstance(content, dict)
        key, values = FIELDS[kind]
        write_lists(path, content, key=key, values=values)
