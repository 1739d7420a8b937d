"""Botify: an open lab for music next-track recommendation."""

__version__ = "0.1.0"
