"""The project's docs stand alone: nothing in the repository points outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from botify.sim.world import SimWorld

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

    def test_the_readme_and_the_docs_name_no_internal_issue(self) -> None:
        import re

        pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        named = [f"{page.name}: {match.group(0)}" for page in pages
                 for match in re.finditer(r"\b[Ii]ssues? #?\d+|(?<![\w&])#\d+\b", page.read_text())]
        assert named == []

    def test_every_doc_the_readme_links_exists(self) -> None:
        import re

        readme = (ROOT / "README.md").read_text()
        links = re.findall(r"\]\((docs/[^)]+)\)", readme)
        assert links and all((ROOT / link).is_file() for link in links)


def code_blocks(markdown: str, language: str) -> list[str]:
    import re

    return re.findall(rf"```{language}\n(.*?)```", markdown, flags=re.S)


class TestPluginDoc:
    def test_the_example_runs_as_written(self, tmp_path: Path, sim_world: SimWorld) -> None:
        from botify.experiments import load_experiments
        from botify.sim.agents import InProcessAgent
        doc = (ROOT / "docs" / "plugins.md").read_text()
        for block in code_blocks(doc, "python") + code_blocks(doc, "yaml"):
            first = block.splitlines()[0]
            if first.startswith("# ") and first.split(",")[0].endswith((".py", ".yml")):  # "# my_module.py, ..."
                (tmp_path / first[2:].split(",")[0]).write_text(block)
        plan = load_experiments(tmp_path / "experiment.yml")
        agent = InProcessAgent(sim_world, plan)
        results = agent.play(range(100), seed=1)
        assert len(results.user) == 100 and agent.policy.recommenders[1].name == "next_id"


def tutorial_script(markdown: str) -> str:
    """The tutorial as one bash script: its bash blocks as written, its file blocks written (or appended) in place."""
    import re

    lines = ["set -euo pipefail"]
    for language, block in re.findall(r"```(bash|python|yaml)\n(.*?)```", markdown, flags=re.S):
        if language == "bash":
            lines.append(block)
            continue
        first = block.splitlines()[0].lstrip("# ")
        name, _, mode = first.partition(" ")
        lines.append(f"cat {'>>' if mode == '(append)' else '>'} {name} <<'BOTIFY_DOC'\n{block}BOTIFY_DOC")
    return "\n".join(lines) + "\n"


class TestTutorial:
    def test_every_command_and_block_runs_as_written(self, tmp_path: Path) -> None:
        import os
        import sys

        script = tutorial_script((ROOT / "docs" / "tutorial.md").read_text())
        environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                       "COLUMNS": "200"}
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=environment,
                              timeout=900, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        out = done.stdout
        assert "5 passed" in out  # the scaffold's own tests
        assert out.count("report written to runs/demo/report.md") == 2
        assert out.count("time per step: world ") == 2 and "collection day 0 s, training 0 s" in out  # reused
        assert "collection day reused" in out and "reused dssm, contextual" in out
        assert "recommender:OnePerArtist" in (tmp_path / "mylab" / "runs" / "demo" / "report.md").read_text()
        assert "TUNE" in out.split("collection day reused")[-1]  # the tuning table came last
