"""The project's docs stand alone: nothing in the repository points outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:  # not a git checkout (an sdist): every file under the root
        return [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    return [ROOT / name for name in listed.stdout.splitlines()]


class TestDocs:
    def test_nothing_points_outside_the_repository(self) -> None:
        outside = "../" + "shared"  # spelled in two parts so that this file does not match itself
        offenders = []
        for path in tracked_files():
            try:
                text = path.read_text()
            except (UnicodeDecodeError, FileNotFoundError):
                continue
            offenders += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                          if outside in line]
        assert offenders == []

    def test_every_doc_the_readme_links_exists(self) -> None:
        import re

        readme = (ROOT / "README.md").read_text()
        links = re.findall(r"\]\((docs/[^)]+)\)", readme)
        assert links and all((ROOT / link).is_file() for link in links)
