"""The ``botify`` command line: one module per command group, assembled here.

Every command validates its options at the edge and turns a ``LabError`` into a one-line message, never a
traceback (``cli/common.py``).
"""

from __future__ import annotations

import click

from botify.cli.ab import ab
from botify.cli.artifacts import artifacts
from botify.cli.cluster import cluster, logs
from botify.cli.common import LabGroup
from botify.cli.fit import fit
from botify.cli.lab import demo, longterm, seminar, train
from botify.cli.ope import ope
from botify.cli.scaffold import init
from botify.cli.serve import serve
from botify.cli.sim import sim
from botify.cli.tune import tune
from botify.cli.world import world

__all__ = ["main"]


@click.group(cls=LabGroup)
@click.version_option(package_name="botify")
def main() -> None:
    """Botify: an open lab for music next-track recommendation."""


for command in (init, world, sim, serve, demo, longterm, train, seminar, cluster, logs, tune, ab, ope, fit,
                artifacts):
    main.add_command(command)
