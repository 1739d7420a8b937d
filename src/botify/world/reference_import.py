"""Import a world from the reference course's own files: the inverse of ``export_reference``.

Reads ``tracks.json`` (JSON lines: ``track``, ``artist``, ``title``; optional ``genre``, ``popularity``, ``artist_id``
and ``genre_id``, which our export writes so that a round trip keeps every id),
``tracks.npy`` (float embeddings, one row per track) and ``users.json`` (JSON lines: ``user``, ``interests``,
``consume_bias``, ``consume_sharpness``; optional ``interest_neighbours``, ``session_budget``,
``artist_discount_gamma``, which default to the course's 10, 5 and 0.8). Every problem is a ``WorldError``
naming the file and line; the world is written to a temporary folder and moved into place only when complete.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botify import __version__
from botify.errors import WorldError
from botify.world.catalog import Catalog
from botify.world.folder import write_world_folder
from botify.world.truth import Truth, nearest_by_inner_product

__all__ = ["USER_DEFAULTS", "import_reference"]

USER_DEFAULTS: dict[str, int | float] = {"interest_neighbours": 10, "session_budget": 5, "artist_discount_gamma": 0.8}
_UNKNOWN_GENRE = "unknown"


@dataclass(frozen=True)
class _Users:
    interests: npt.NDArray[np.int32]
    interest_neighbours: npt.NDArray[np.int32]
    consume_bias: npt.NDArray[np.float64]
    consume_sharpness: npt.NDArray[np.float64]
    session_budget: npt.NDArray[np.int32]
    artist_discount_gamma: npt.NDArray[np.float64]


def _json_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise WorldError(f"{path}: file not found")
    rows = []
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                raise WorldError(f"{path}:{number}: not valid JSON ({error})") from error
            if not isinstance(row, dict):
                raise WorldError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            rows.append((number, row))
    if not rows:
        raise WorldError(f"{path}: no rows")
    return rows


def _field(path: Path, number: int, row: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = row.get(name, default)
    if value is None:
        raise WorldError(f"{path}:{number}: missing field {name!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise WorldError(f"{path}:{number}: {name!r} must be {kind.__name__}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise WorldError(f"{path}:{number}: {name!r} must be finite, got {value!r}")
    return value


def _check_ids(path: Path, rows: list[tuple[int, dict[str, Any]]], name: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows sorted by id; the ids must be exactly 0..N-1."""
    by_id: dict[int, tuple[int, dict[str, Any]]] = {}
    for number, row in rows:
        value = _field(path, number, row, name, int)
        if not 0 <= value < len(rows):
            raise WorldError(f"{path}:{number}: {name} {value} outside 0..{len(rows) - 1} (ids must be 0..N-1)")
        if value in by_id:
            raise WorldError(f"{path}:{number}: {name} {value} repeats line {by_id[value][0]}")
        by_id[value] = (number, row)
    return [by_id[i] for i in range(len(rows))]


def _numbered(path: Path, rows: list[tuple[int, dict[str, Any]]], name_field: str, id_field: str,
              default: str | None = None) -> tuple[list[int], list[str]]:
    """Each row's id for its ``name_field`` and the names in id order.

    Ids come from ``id_field`` when the file has it, else from the order of first appearance.
    """
    ids: dict[str, int] = {}
    given = id_field in rows[0][1]
    per_row = []
    for number, row in rows:
        name = _field(path, number, row, name_field, str, default)
        if given:
            value = _field(path, number, row, id_field, int)
            if ids.setdefault(name, value) != value:
                raise WorldError(f"{path}:{number}: {name_field} {name!r} has {id_field} {value}, earlier "
                                 f"{ids[name]}")
        per_row.append(ids.setdefault(name, len(ids)))
    names = sorted(ids, key=ids.__getitem__)
    if [ids[name] for name in names] != list(range(len(names))):
        raise WorldError(f"{path}: {id_field} values must be 0..{len(names) - 1}, one per {name_field}")
    return per_row, names


def _catalog(path: Path) -> Catalog:
    rows = _check_ids(path, _json_lines(path), "track")
    artist_id, artist_names = _numbered(path, rows, "artist", "artist_id")
    genre_id, genre_names = _numbered(path, rows, "genre", "genre_id", _UNKNOWN_GENRE)
    popularity = []
    for number, row in rows:
        value = _field(path, number, row, "popularity", float, 1.0)
        if not 0.0 < value <= 1.0:
            raise WorldError(f"{path}:{number}: 'popularity' must be in (0, 1], got {value!r}")
        popularity.append(value)
    titles = [_field(path, number, row, "title", str) for number, row in rows]
    return Catalog(artist_id=np.array(artist_id, np.int32), artist_names=artist_names, title=titles,
                   genre_id=np.array(genre_id, np.int16), genre_names=genre_names,
                   popularity=np.array(popularity, np.float32),
                   manifest={"seed": None, "n_tracks": len(rows), "n_artists": len(artist_names),
                             "botify": __version__, "imported_from": str(path.parent)})


def _embeddings(path: Path, n_tracks: int) -> npt.NDArray[np.float32]:
    if not path.is_file():
        raise WorldError(f"{path}: file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise WorldError(f"{path}: not a NumPy array file ({error})") from error
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        raise WorldError(f"{path}: expected a 2-d float array (tracks x dim), got {array.dtype} {array.shape}")
    if array.shape[0] != n_tracks:
        raise WorldError(f"{path}: {array.shape[0]} embedding rows, but tracks.json has {n_tracks} tracks")
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if len(bad):
        raise WorldError(f"{path}: row {bad[0]} (track {bad[0]}) holds NaN or inf ({len(bad)} rows in all)")
    return np.ascontiguousarray(array, dtype=np.float32)


def _users(path: Path, n_tracks: int) -> _Users:
    rows = _check_ids(path, _json_lines(path), "user")
    width = None
    columns: dict[str, list[Any]] = {name: [] for name in _Users.__dataclass_fields__}
    for number, row in rows:
        interests = row.get("interests")
        if not isinstance(interests, list) or not interests or \
                not all(isinstance(i, int) and not isinstance(i, bool) for i in interests):
            raise WorldError(f"{path}:{number}: 'interests' must be a non-empty list of track ids, got {interests!r}")
        outside = [i for i in interests if not 0 <= i < n_tracks]
        if outside:
            raise WorldError(f"{path}:{number}: interest {outside[0]} is not a track of the catalog "
                             f"(0..{n_tracks - 1})")
        if len(set(interests)) != len(interests):
            raise WorldError(f"{path}:{number}: 'interests' repeats a track: {interests}")
        if width is not None and len(interests) != width:
            raise WorldError(f"{path}:{number}: {len(interests)} interests, but earlier users have {width} "
                             "(every user needs the same number)")
        width = len(interests)
        neighbours = _field(path, number, row, "interest_neighbours", int, USER_DEFAULTS["interest_neighbours"])
        sharpness = _field(path, number, row, "consume_sharpness", float)
        budget = _field(path, number, row, "session_budget", int, USER_DEFAULTS["session_budget"])
        gamma = _field(path, number, row, "artist_discount_gamma", float, USER_DEFAULTS["artist_discount_gamma"])
        for name, value, ok, rule in (("interest_neighbours", neighbours, 1 <= neighbours <= n_tracks,
                                       f"in 1..{n_tracks}"), ("consume_sharpness", sharpness, sharpness > 0, "> 0"),
                                      ("session_budget", budget, budget >= 1, ">= 1"),
                                      ("artist_discount_gamma", gamma, 0 < gamma <= 1, "in (0, 1]")):
            if not ok:
                raise WorldError(f"{path}:{number}: {name!r} must be {rule}, got {value!r}")
        for name, value in (("interests", interests), ("interest_neighbours", neighbours),
                            ("consume_bias", _field(path, number, row, "consume_bias", float)),
                            ("consume_sharpness", sharpness), ("session_budget", budget),
                            ("artist_discount_gamma", gamma)):
            columns[name].append(value)
    return _Users(interests=np.array(columns["interests"], np.int32),
                  interest_neighbours=np.array(columns["interest_neighbours"], np.int32),
                  consume_bias=np.array(columns["consume_bias"], np.float64),
                  consume_sharpness=np.array(columns["consume_sharpness"], np.float64),
                  session_budget=np.array(columns["session_budget"], np.int32),
                  artist_discount_gamma=np.array(columns["artist_discount_gamma"], np.float64))


def import_reference(source: str | Path, out: str | Path) -> tuple[Catalog, Truth]:
    """Build the world ``out`` (catalog and truth) from the course's files in ``source``; ``out`` must not exist."""
    source, out = Path(source), Path(out)
    if out.exists():
        raise WorldError(f"{out} already exists; choose a new folder (nothing was written)")
    catalog = _catalog(source / "tracks.json")
    embeddings = _embeddings(source / "tracks.npy", catalog.n_tracks)
    users = _users(source / "users.json", catalog.n_tracks)
    k = int(users.interest_neighbours.max())
    nearest = nearest_by_inner_product(embeddings, embeddings[users.interests.reshape(-1)], k)
    truth = Truth(embeddings=embeddings, interests=users.interests,
                  interest_nearest=nearest.reshape(*users.interests.shape, k),
                  interest_neighbours=users.interest_neighbours, consume_bias=users.consume_bias,
                  consume_sharpness=users.consume_sharpness, session_budget=users.session_budget,
                  artist_discount_gamma=users.artist_discount_gamma,
                  manifest={"seed": None, "imported_from": str(source), "botify": __version__})
    write_world_folder(out, catalog, truth)
    return catalog, truth
