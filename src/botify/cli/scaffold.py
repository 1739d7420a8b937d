"""``botify init DIR``: a ready folder with your own recommender, its A/B experiment, its tests and a README."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from botify.cli.common import console
from botify.errors import ConfigError

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "lab"
FILES = ("recommender.py", "experiment.yml", "test_recommender.py", "tune.yml", "README.md")


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Write a lab folder: recommender.py, experiment.yml, test_recommender.py, tune.yml and README.md."""
    clashes = [name for name in FILES if (directory / name).exists()]
    if clashes:
        raise ConfigError(f"{directory} already has {', '.join(clashes)}; nothing was written")
    directory.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(TEMPLATE / name, directory / name)
    console.print(f"wrote {', '.join(FILES)} to {directory}\nnext: cd {directory} && "
                  "botify demo --experiment experiment.yml && pytest")
