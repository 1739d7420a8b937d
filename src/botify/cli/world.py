"""``botify world``: generate a world, export it to the course's formats, import the course's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console
from botify.errors import ConfigError
from botify.recipes.progress import progress_bars


@click.group(cls=LabGroup)
def world() -> None:
    """Generate simulated worlds; export them to the course's formats and import the course's files."""


def parse_overrides(values: tuple[str, ...]) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as world knobs of the right types (a `ConfigError` names the bad one)."""
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

    config = WorldConfig.from_dict({"n_tracks": tracks, "n_users": users, **parse_overrides(overrides)})
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


@world.command("fit")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--catalog", "catalog_dir", type=click.Path(path_type=Path), required=True,
              help="The world folder whose public catalog the logs were served from (only catalog/ is read).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A new folder for the fitted world.")
@click.option("--dim", type=click.IntRange(min=1), default=32, show_default=True, help="Taste space dimension.")
@click.option("--interests", type=click.IntRange(min=1), default=3, show_default=True,
              help="Interest slots per user.")
@click.option("--epochs", type=click.IntRange(min=1), default=25, show_default=True,
              help="Passes over the logged recommendations, for each of the two fits.")
@click.option("--holdout", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2, show_default=True,
              help="Share of each user's latest sessions scored by the first fit.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def world_fit(logs: tuple[Path, ...], catalog_dir: Path, out: Path, dim: int, interests: int, epochs: int,
              holdout: float, seed: int) -> None:
    """Fit a world to the service's logs (ours or the course's) and a public catalog; write it to OUT.

    Fits the user model's parameters — track taste vectors, each user's interests, bias and sharpness, the
    session budget and the artist discount — by penalised maximum likelihood of the logged listening times,
    prints held-out diagnostics against a trivial baseline, and writes an ordinary world (catalog copied, fitted
    truth/, a manifest with the logs' hash and the fit's settings) that every command accepts. docs/fit.md.
    """
    from botify.fit import FitSettings, fit_world, read_fit_data, write_fitted_world
    from botify.fit.world_fit import check_new_folder
    from botify.world.catalog import load_catalog

    settings = FitSettings(dim=dim, interests=interests, epochs=epochs, holdout=holdout, seed=seed)
    check_new_folder(out)  # before the fit's minutes, not after them
    catalog = load_catalog(catalog_dir)
    data = read_fit_data(logs, catalog)
    console.print(data.report.describe())
    summary = data.summary()
    console.print(f"{summary['sessions']:,} sessions, {summary['recommendations']:,} recommendations of "
                  f"{summary['users_logged']:,} users and {summary['tracks_logged']:,} tracks")
    with progress_bars(console, "epochs") as progress:
        fitted = fit_world(data, catalog, settings, progress)
    for line in fitted.diagnostics.lines():
        console.print(line)
    write_fitted_world(out, catalog, fitted, logs=data.report.files, summary=summary)
    console.print(f"fitted world written to {out}: {fitted.truth.n_users:,} users, {catalog.n_tracks:,} tracks "
                  f"(try `botify sim run --world {out}`)")
