"""``botify artifacts``: the course's precomputed files in and out of the lab's versioned artifacts."""

from __future__ import annotations

from pathlib import Path

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console


@click.group(cls=LabGroup)
def artifacts() -> None:
    """The lab's model artifacts and the course's files."""


@artifacts.command("import-reference")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--catalog", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True,
              help="The world whose catalog the ids must fit (only its public catalog is read).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True,
              help="The artifacts directory to add to.")
def import_reference(files: tuple[Path, ...], world_dir: Path, out: Path) -> None:
    """Turn course files into artifacts named after each file.

    recommendations_*.json ({"user", "tracks"} lines) become `indexed` artifacts, per-track files ({"track",
    "recommendations"} lines) `item_lists`, top_tracks.json (a list) `popularity` (ranked). Every file is read and
    checked first (errors name file and line); nothing is written unless all are good.
    """
    from botify.artifacts import save_artifact
    from botify.course.files import read_file, to_arrays
    from botify.errors import ConfigError
    from botify.world.catalog import load_catalog

    catalog = load_catalog(world_dir)
    names = [path.name.split(".", 1)[0] for path in files]
    if len(set(names)) != len(names):
        raise ConfigError(f"two files would make the same artifact name: {names}")
    converted = []
    for path in files:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
        kind, content = read_file(path, catalog.n_tracks)
        converted.append((path, kind, to_arrays(kind, content, catalog.n_tracks), len(content)))
    for (path, kind, (artifact_kind, arrays), count), name in zip(converted, names, strict=True):
        artifact = save_artifact(out, name, artifact_kind, arrays, catalog, source=str(path), course_format=kind)
        console.print(f"{path} ({kind}, {count:,} entries) → {out / artifact.ref} ({artifact_kind})")


@artifacts.command("export-reference")
@click.argument("names", nargs=-1, required=True)
@click.option("--artifacts", "root", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--catalog", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the course's files.")
def export_reference(names: tuple[str, ...], root: Path, world_dir: Path, out: Path) -> None:
    """Write artifacts (NAME or NAME/VERSION) as the course's files: OUT/NAME.json.

    `indexed` → {"user", "tracks"} lines (recommendations_*.json), `item_lists` → {"track", "recommendations"}
    lines, `popularity` → a list of track ids, most popular first (top_tracks.json).
    """
    from botify.artifacts import load_artifact
    from botify.course.files import from_arrays, write_file
    from botify.world.catalog import load_catalog

    catalog = load_catalog(world_dir)
    loaded = [load_artifact(root, name, catalog, mmap=False) for name in names]
    for artifact in loaded:
        kind, content = from_arrays(artifact.kind, artifact.arrays)
        path = out / f"{artifact.name}.json"
        write_file(path, kind, content)
        console.print(f"{root / artifact.ref} ({artifact.kind}) → {path} ({kind}, {len(content):,} entries)")
