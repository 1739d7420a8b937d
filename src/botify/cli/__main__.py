"""``python -m botify.cli``: the same command line as ``botify`` (used to start service processes)."""

from botify.cli import main

main()
