"""Separation of truth: service-side code never imports the simulator nor reads the private truth.

Two checks: a scan of every import in the service-side source (absolute, relative, ``importlib`` and
``__import__`` with a literal name; a dynamic import of a computed name is reported too), and an audit of every
file opened while the service-side code runs for real — every recommender kind serving, every model training,
the analysis with both engines.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import botify

SOURCE = Path(botify.__file__).parent
SERVICE_SIDE = ["recommenders", "service", "train", "ab", "state", "logs", "ope"]
FORBIDDEN = ("botify.sim", "botify.world.truth", "botify.world.returns", "botify.world.generate",
             "botify.world.reference")
DYNAMIC = "<a dynamic import of a computed name>"
# Service-side files that may import a computed name: the plugin loader imports the user's own modules (what they
# import is theirs; the file audit below still watches what a served plugin opens).
DYNAMIC_IMPORT_ALLOWED = {"plugins.py"}


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str | None, level: int, path: Path, own_name: str) -> str:
    """The absolute name of ``from {'.' * level}{module} import ...`` written in module ``own_name``."""
    if level == 0:
        return module or ""
    package = own_name.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _dynamic_name(node: ast.Call) -> str | None:
    """The module a call to ``importlib.import_module(...)`` / ``__import__(...)`` names, if it is one."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        package = node.args[1] if len(node.args) > 1 else None
        if first.value.startswith(".") and isinstance(package, ast.Constant) and isinstance(package.value, str):
            level = len(first.value) - len(first.value.lstrip("."))
            base = package.value.split(".")
            return ".".join([*base[: len(base) - (level - 1)], first.value.lstrip(".")])
        return first.value
    return DYNAMIC


def imported_modules(path: Path, own_name: str | None = None) -> set[str]:
    """Every module ``path`` imports; ``own_name`` is its dotted name (default: from its place in the package)."""
    own_name = own_name or _module_of(path)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node.module, node.level, path, own_name)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and (name := _dynamic_name(node)) is not None:
            names.add(name)
    return names


def service_side_files() -> list[Path]:
    files = [p for package in SERVICE_SIDE if (SOURCE / package).is_dir() for p in (SOURCE / package).rglob("*.py")]
    shared = ["experiments.py", "artifacts.py", "errors.py", "plugins.py", "world/catalog.py", "world/seeding.py"]
    return files + [SOURCE / name for name in shared]


def offenders(path: Path) -> list[str]:
    names = imported_modules(path)
    bad = {n for n in names if n.startswith(FORBIDDEN)}
    if DYNAMIC in names and str(path.relative_to(SOURCE)) not in DYNAMIC_IMPORT_ALLOWED:
        bad.add(DYNAMIC)
    return sorted(bad)


class TestImports:
    def test_no_service_side_module_imports_the_simulator(self) -> None:
        found = {str(path.relative_to(SOURCE)): offenders(path) for path in service_side_files()}
        assert {k: v for k, v in found.items() if v} == {}

    def test_the_checker_catches_every_kind_of_import(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.py"
        bad.write_text(textwrap.dedent("""
            import importlib
            from botify.sim.world import load_sim_world
            import botify.world.truth
            from ..sim import engine
            from .. import sim
            importlib.import_module("botify.sim.env")
            __import__("botify.world.generate")
            importlib.import_module(".reference", "botify.world")
            importlib.import_module(name_from_somewhere)
        """))
        found = imported_modules(bad, "botify.ab.bad")  # as if the file were botify/ab/bad.py
        assert {n for n in found if n.startswith(FORBIDDEN)} == {
            "botify.sim.world", "botify.sim.world.load_sim_world", "botify.world.truth", "botify.sim",
            "botify.sim.engine", "botify.sim.env", "botify.world.generate", "botify.world.reference"}
        assert DYNAMIC in found


AUDIT = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and args[0] else None)
import asyncio, httpx, yaml
from botify.ab import analyze_logs
from botify.experiments import ExperimentPlan
from botify.service.app import BotifyApp
from botify.train.dataset import load_interactions
from botify.train.pipeline import MODELS, train_model
from botify.testing.artifacts import REPORT_ARMS
from botify.world.catalog import load_catalog

world, artifacts, logs, out = sys.argv[1:5]
catalog = load_catalog(world)
plans = [ExperimentPlan.from_dict(yaml.safe_load(REPORT_ARMS)), ExperimentPlan.from_dict({"seed": 1, "experiments": [
    {"name": "E", "arms": ["random", "toppop", "sticky_artist",
                           {"recommender": "contextual", "params": {"artifact": "contextual"}}]}]})]
kinds = set()
async def serve(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        for user in range(40):
            for step in range(3):
                answer = await client.post(f"/next/{user}", json={"track": 3 + step, "time": 0.5})
                assert answer.status_code == 200, answer.text
            assert (await client.post(f"/last/{user}", json={"track": 3, "time": 0.5})).status_code == 200
for plan in plans:
    app = BotifyApp(catalog, plan, artifacts=artifacts, log_dir=out + "/served")
    kinds.update(r.name for r in app.recommenders)
    asyncio.run(serve(app))
    app.log.close()
data, report = load_interactions([logs], catalog.n_tracks)
for name in sorted(MODELS):
    train_model(name, catalog, data, out + "/artifacts", report=report)
for engine in ("python", "duckdb"):
    analyze_logs([out + "/served"], "E", engine=engine)
    analyze_logs([logs], "EXPLORATION", engine=engine)
leaked = sorted({p for p in opened if "/truth" in p})
forbidden = sorted(m for m in sys.modules if m.startswith(("botify.sim", "botify.world.truth", "botify.world.returns")))
print("kinds:", sorted(kinds), "models:", sorted(MODELS), "files opened:", len(set(opened)))
print("leaked:", leaked, "forbidden modules:", forbidden)
sys.exit(1 if leaked or forbidden or not opened else 0)
"""


class TestFileAudit:
    def test_serving_every_recommender_training_every_model_and_analysing_read_no_truth(
            self, world_dir: Path, model_artifacts: Path, collection_logs: Path, tmp_path: Path) -> None:
        assert (world_dir / "truth").is_dir()  # the truth is there to be read by mistake
        result = subprocess.run([sys.executable, "-c", AUDIT, str(world_dir), str(model_artifacts),
                                 str(collection_logs), str(tmp_path)], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        from botify.recommenders.registry import RECOMMENDERS

        assert f"kinds: {sorted(RECOMMENDERS)}" in result.stdout  # every built-in kind was served
