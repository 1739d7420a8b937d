"""Separation of truth: service-side code never imports the simulator nor reads the private truth."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import botify

SOURCE = Path(botify.__file__).parent
SERVICE_SIDE = ["recommenders", "service", "train", "ab"]
FORBIDDEN = ("botify.sim", "botify.world.truth", "botify.world.generate", "botify.world.reference")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def service_side_files() -> list[Path]:
    files = [p for package in SERVICE_SIDE if (SOURCE / package).is_dir() for p in (SOURCE / package).rglob("*.py")]
    shared = ["experiments.py", "artifacts.py", "state.py", "errors.py", "world/catalog.py", "world/seeding.py"]
    return files + [SOURCE / name for name in shared]


class TestSeparation:
    def test_no_service_side_module_imports_the_simulator(self) -> None:
        offenders = {
            str(path.relative_to(SOURCE)): sorted(n for n in imported_modules(path) if n.startswith(FORBIDDEN))
            for path in service_side_files()
        }
        assert {k: v for k, v in offenders.items() if v} == {}

    def test_the_checker_catches_an_offender(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.py"
        bad.write_text("from botify.sim.world import load_sim_world\nimport botify.world.truth\n")
        assert {n for n in imported_modules(bad) if n.startswith(FORBIDDEN)} == {
            "botify.sim.world", "botify.sim.world.load_sim_world", "botify.world.truth"}

    def test_serving_reads_no_truth_file(self, world_dir: Path) -> None:
        script = textwrap.dedent(f"""
            import sys
            opened = []
            sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
            import asyncio, httpx
            from botify.experiments import ExperimentPlan
            from botify.service.app import BotifyApp
            from botify.world.catalog import load_catalog
            app = BotifyApp(load_catalog({str(world_dir)!r}),
                            ExperimentPlan.single("E", ["random", "toppop", "sticky_artist"], seed=1))
            async def main():
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
                    for user in range(30):
                        answer = await client.post(f"/next/{{user}}", json={{"track": 3, "time": 0.5}})
                        assert answer.status_code == 200
            asyncio.run(main())
            leaked = [p for p in opened if "/truth" in p]
            forbidden = [m for m in sys.modules if m.startswith(("botify.sim", "botify.world.truth"))]
            print(leaked, forbidden)
            sys.exit(1 if leaked or forbidden else 0)
        """)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
