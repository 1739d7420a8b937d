"""Readable synthetic names for genres, artists and track titles."""

from __future__ import annotations

import numpy as np

__all__ = ["GENRES", "artist_names", "track_titles"]

GENRES = (
    "pop", "rock", "hip-hop", "electronic", "jazz", "classical", "r&b", "country", "metal", "folk", "indie",
    "reggae", "blues", "latin", "soul", "punk", "ambient", "funk", "k-pop", "disco", "gospel", "house", "techno",
    "trap", "ska", "grunge", "bossa nova", "afrobeat", "synthwave", "lo-fi",
)

_FIRST = (
    "Ada", "Alex", "Aria", "Ben", "Cleo", "Dan", "Eli", "Eva", "Finn", "Gia", "Hugo", "Ivy", "Jay", "Kai", "Lena",
    "Leo", "Mara", "Max", "Nia", "Noah", "Olga", "Omar", "Pia", "Ray", "Rosa", "Sam", "Tess", "Theo", "Uma",
    "Vera", "Wes", "Yara", "Zoe", "Ivan", "Nina", "Oscar", "Lucia", "Mika", "Sasha", "Remy",
)
_LAST = (
    "Abbott", "Bloom", "Carver", "Dune", "Ellis", "Frost", "Grey", "Hale", "Iver", "Jensen", "Kato", "Lark",
    "Moreau", "Nash", "Orlov", "Park", "Quinn", "Reyes", "Stone", "Tanaka", "Vale", "Ward", "Young", "Zima",
    "Novak", "Silva", "Bauer", "Costa", "Duval", "Lind",
)
_ADJECTIVES = (
    "Midnight", "Golden", "Electric", "Silent", "Velvet", "Neon", "Broken", "Crimson", "Endless", "Wild",
    "Hollow", "Paper", "Burning", "Frozen", "Lonely", "Summer", "Silver", "Distant", "Sweet", "Restless",
    "Blue", "Secret", "Falling", "Lucky", "Quiet", "Savage", "Tender", "Violet", "Wicked", "Bright",
)
_NOUNS = (
    "Echoes", "Hearts", "Rivers", "Lights", "Dreams", "Shadows", "Waves", "Roads", "Stars", "Ghosts", "Mirrors",
    "Horizons", "Flames", "Streets", "Gardens", "Machines", "Wolves", "Tides", "Signals", "Cities", "Skies",
    "Storms", "Bells", "Wires", "Seasons", "Satellites", "Oceans", "Feathers", "Engines", "Canyons",
)
_TITLE_NOUNS = (
    "Love", "Night", "Fire", "Rain", "Heart", "Road", "Sky", "Dance", "Home", "Time", "Light", "Summer", "Dream",
    "Ocean", "City", "Moon", "Sun", "River", "Storm", "Song", "Kiss", "Shadow", "Train", "Window", "Garden",
    "Highway", "Letter", "Mirror", "Promise", "Echo",
)
_TITLE_PATTERNS = (
    "{adj} {noun}", "{noun} of {noun2}", "The {adj} {noun}", "{noun} in the {noun2}", "My {adj} {noun}",
    "{adj} {noun} ({adj2} Mix)", "No More {noun}", "{noun} Again", "Under the {adj} {noun}", "{adj}",
)


def artist_names(rng: np.random.Generator, count: int) -> list[str]:
    """Return ``count`` distinct artist names: bands ("The Neon Wolves") and people ("Ada Frost")."""
    names: list[str] = []
    uses: dict[str, int] = {}
    while len(names) < count:
        if rng.random() < 0.5:
            base = f"{_FIRST[rng.integers(len(_FIRST))]} {_LAST[rng.integers(len(_LAST))]}"
        else:
            prefix = "The " if rng.random() < 0.6 else ""
            base = f"{prefix}{_ADJECTIVES[rng.integers(len(_ADJECTIVES))]} {_NOUNS[rng.integers(len(_NOUNS))]}"
        uses[base] = uses.get(base, 0) + 1
        names.append(base if uses[base] == 1 else f"{base} {_roman(uses[base])}")
    return names


def track_titles(rng: np.random.Generator, count: int) -> list[str]:
    """Return ``count`` readable song titles (repeats allowed, as in real catalogs)."""
    patterns = rng.integers(len(_TITLE_PATTERNS), size=count)
    adjectives = rng.integers(len(_ADJECTIVES), size=(count, 2))
    nouns = rng.integers(len(_TITLE_NOUNS), size=(count, 2))
    return [
        _TITLE_PATTERNS[p].format(
            adj=_ADJECTIVES[a[0]], adj2=_ADJECTIVES[a[1]], noun=_TITLE_NOUNS[n[0]], noun2=_TITLE_NOUNS[n[1]]
        )
        for p, a, n in zip(patterns, adjectives, nouns, strict=True)
    ]


def _roman(number: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, symbol in numerals:
        while number >= value:
            out += symbol
            number -= value
    return out
