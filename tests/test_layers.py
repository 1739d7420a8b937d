"""The package's layers: every import goes down (or stays within its own package), never up.

A lazy import inside a function counts as much as one at the top of a module. The root ``botify/__init__.py`` is
the public facade and may name anything; everything may read ``botify.__version__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import botify

SOURCE = Path(botify.__file__).parent
LAYERS: list[set[str]] = [
    {"errors", "progress"},                                                # exceptions; the progress callback
    {"world", "state", "plugins", "metric_plan", "segment_plan"},          # catalog; state; loader; metrics
    {"experiments", "artifacts", "logs", "course"},                        # experiments; artifacts; logs; the course's
    {"ab", "recommenders", "train"},                                       # analysis; online recs; offline models
    {"service", "ope"},                                                    # the HTTP service; off-policy evaluation
    {"sim", "cluster", "fit"},                                             # the simulator; topology; fitted worlds
    {"testing", "recipes"},                                                # checks for users; end-to-end jobs
    {"cli"},                                                               # the command line
]
LAYER_OF = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def package_of(module: str) -> str | None:
    """``botify.sim.engine`` -> ``sim``; the root package and other libraries -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "botify" and len(parts) > 1 else None


def upward_imports(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in ("templates",) or relative == Path("__init__.py"):
            continue
        own = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                target = package_of(name)
                if target is None or target == own:
                    continue
                if LAYER_OF[target] >= LAYER_OF[own]:
                    found.append(f"{relative}:{node.lineno} imports {name} ({own}, layer {LAYER_OF[own]} -> "
                                 f"{target}, layer {LAYER_OF[target]})")
    return found


def test_every_package_has_a_layer() -> None:
    packages = {p.name.removesuffix(".py") for p in SOURCE.iterdir()
                if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()}
    assert packages - {"templates"} == set(LAYER_OF)


def test_imports_only_go_down() -> None:
    assert upward_imports(SOURCE) == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "x.py").write_text("def f():\n    from botify.recipes.experiment import run_experiment\n")
    (tmp_path / "recipes.py").write_text("from botify.state import InMemoryStore\n")
    assert upward_imports(tmp_path) == [
        "state/x.py:2 imports botify.recipes.experiment (state, layer 1 -> recipes, layer 6)"]


def test_training_and_the_analysis_stand_side_by_side_on_the_log_reader(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "x.py").write_text("from botify.logs.reader import read_events\n"
                                             "from botify.ab.metrics import user_metrics\n")
    (tmp_path / "ab.py").write_text("from botify.logs import sessionize\n")
    assert upward_imports(tmp_path) == [
        "train/x.py:2 imports botify.ab.metrics (train, layer 3 -> ab, layer 3)"]


def recipes_importing_recipes(recipes: Path) -> list[str]:
    """A recipe (a module with a top-level ``run_*``) importing another: shared steps belong in a step module."""
    trees = {path.stem: ast.parse(path.read_text()) for path in sorted(recipes.glob("*.py"))}
    jobs = {name for name, tree in trees.items()
            if any(isinstance(node, ast.FunctionDef) and node.name.startswith("run_") for node in tree.body)}
    found = []
    for name in sorted(jobs):
        for node in ast.walk(trees[name]):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("botify.recipes."):
                imported = node.module.split(".")[2]
                if imported in jobs and imported != name:
                    found.append(f"recipes/{name}.py:{node.lineno} imports the recipe {node.module}")
    return found


def test_recipes_share_steps_and_never_import_one_another(tmp_path: Path) -> None:
    assert recipes_importing_recipes(SOURCE / "recipes") == []
    (tmp_path / "a.py").write_text("def run_a():\n    from botify.recipes.b import STEP\n")
    (tmp_path / "b.py").write_text("STEP = 1\n\ndef run_b():\n    pass\n")
    assert recipes_importing_recipes(tmp_path) == ["recipes/a.py:2 imports the recipe botify.recipes.b"]
