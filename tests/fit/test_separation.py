"""The fit reads logs and the public catalog only: it never imports the simulator nor opens a world's truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_separation import SOURCE, imported_modules

FIT_FORBIDDEN = ("botify.sim", "botify.world.generate", "botify.world.reference", "botify.world.returns",
                 "botify.world.truth.load_truth", "botify.recipes", "botify.cli")

AUDIT = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and args[0] else None)
from botify.cli import main
main(sys.argv[1:], standalone_mode=False)
print("\\n".join(opened), file=open(sys.argv[-1] + ".opened", "w"))
"""


def test_no_fit_module_imports_the_simulator_or_reads_truth() -> None:
    found = {str(p.relative_to(SOURCE)): sorted(n for n in imported_modules(p) if n.startswith(FIT_FORBIDDEN))
             for p in (SOURCE / "fit").rglob("*.py")}
    assert {k: v for k, v in found.items() if v} == {}
    assert all("load_truth" not in p.read_text() for p in (SOURCE / "fit").rglob("*.py"))


def test_fitting_opens_the_catalog_and_never_the_truth(world_dir: Path, collection_logs: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "fitted"
    subprocess.run([sys.executable, "-c", AUDIT, "world", "fit", str(collection_logs), "--catalog", str(world_dir),
                    "--epochs", "1", "--out", str(out)], check=True, capture_output=True)
    opened = [Path(p).resolve() for p in Path(str(out) + ".opened").read_text().split()]
    catalog, truth = (world_dir / "catalog").resolve(), (world_dir / "truth").resolve()
    assert any(p.is_relative_to(catalog) for p in opened)  # the audit sees the fit's reads
    assert [p for p in opened if p.is_relative_to(truth)] == []
    assert (out / "truth" / "users.parquet").is_file()
