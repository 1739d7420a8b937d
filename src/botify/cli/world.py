"""``botify world``: generate a world, export it to the course's formats, import the course's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console
from botify.errors import ConfigError


@click.group(cls=LabGroup)
def world() -> None:
    """Generate simulated worlds; export them to the course's formats and import the course's files."""


def _parse_overrides(values: tuple[str, ...]) -> dict[str, Any]:
    from botify.world.config import WorldConfig

    fields = WorldConfig.__dataclass_fields__
    overrides: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise ConfigError(f"`--set` expects KEY=VALUE with KEY one of {sorted(fields)}, got {item!r}")
        kind = type(getattr(WorldConfig(), key))
        if kind is bool:
            if raw.lower() not in ("true", "false"):
                raise ConfigError(f"`--set {key}` expects true or false, got {raw!r}")
            overrides[key] = raw.lower() == "true"
            continue
        try:
            overrides[key] = kind(raw)
        except ValueError as error:
            raise ConfigError(f"`--set {key}` expects a {kind.__name__}, got {raw!r}") from error
    return overrides


@world.command("generate")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--tracks", type=click.IntRange(min=1), default=50_000, show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other world knob (docs/world.md).")
def world_generate(out: Path, seed: int, tracks: int, users: int, overrides: tuple[str, ...]) -> None:
    """Write a world: OUT/catalog (public) and OUT/truth (simulator-private)."""
    from botify.world.config import WorldConfig
    from botify.world.generate import write_world

    config = WorldConfig.from_dict({"n_tracks": tracks, "n_users": users, **_parse_overrides(overrides)})
    with console.status(f"generating {tracks:,} tracks and {users:,} users"):
        catalog, _ = write_world(out, config, seed)
    console.print(f"world written to {out}: {catalog.n_tracks:,} tracks, {catalog.n_artists:,} artists, "
                  f"{users:,} users (seed {seed})")


@world.command("export-reference")
@click.argument("world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Default: WORLD_DIR/reference.")
def world_export_reference(world_dir: Path, out: Path | None) -> None:
    """Write the reference course's tracks.json, tracks.npy and users.json."""
    from botify.world.reference import export_reference

    for path in export_reference(world_dir, out or world_dir / "reference"):
        console.print(f"wrote {path}")


@world.command("import-reference")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The new world's folder (must not exist).")
def world_import_reference(source: Path, out: Path) -> None:
    """Build a world from the course's tracks.json, tracks.npy and users.json in SOURCE."""
    from botify.world.reference_import import import_reference

    with console.status(f"importing {source}"):
        catalog, truth = import_reference(source, out)
    console.print(f"world written to {out}: {catalog.n_tracks:,} tracks, {catalog.n_artists:,} artists, "
                  f"{truth.n_users:,} users (from {source})")
