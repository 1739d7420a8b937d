"""The command line: clear messages for bad input, and the main commands working end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from botify.cli import main
from botify.service.process import ServiceProcess


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.output


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["world", "generate", "--seed", "-1"], "Invalid value for '--seed'"),
            (["world", "generate", "--tracks", "abc"], "'abc' is not a valid integer"),
            (["world", "generate", "--set", "colour=3"], "`--set` expects KEY=VALUE with KEY one of"),
            (["world", "generate", "--set", "dim=big"], "`--set dim` expects a int, got 'big'"),
            (["sim", "run", "--recommender", "psychic"], "'psychic' is not one of"),
            (["sim", "run", "--episodes", "0"], "Invalid value for '--episodes'"),
        ],
    )
    def test_option_errors(self, args: list[str], message: str) -> None:
        code, output = run(*args)
        assert code == 2 and message in output

    def test_missing_world(self, tmp_path: Path) -> None:
        code, output = run("sim", "run", "--world", str(tmp_path / "none"))
        assert code == 1 and "generate a world first: `botify world generate --out" in output
        assert "Traceback" not in output

    def test_bad_experiment_file(self, world_dir: Path, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yml"
        bad.write_text("experiments: nope\n")
        code, output = run("sim", "run", "--world", str(world_dir), "--experiment", str(bad))
        assert code == 2 and "`experiments` must be a non-empty list" in output


class TestCommands:
    def test_generate_and_simulate(self, tmp_path: Path) -> None:
        world = tmp_path / "w"
        code, output = run("world", "generate", "--out", str(world), "--tracks", "1000", "--users", "80",
                           "--set", "n_genres=4")
        assert code == 0, output
        code, output = run("sim", "run", "--world", str(world), "--episodes", "300", "--days", "2",
                           "--recommender", "inprocess")
        assert code == 0, output
        assert "day 0: 300 episodes, reward" in output and "day 1:" in output
        assert "CALIBRATION" in output and "mean_time_per_session" in output

    def test_random_agent_and_hook(self, world_dir: Path, tmp_path: Path) -> None:
        marker = tmp_path / "hook-ran"
        code, output = run("sim", "run", "--world", str(world_dir), "--episodes", "50", "--days", "2",
                           "--recommender", "random", "--hook", f"touch {marker}")
        assert code == 0, output
        assert marker.exists()

    def test_remote_agent_pipelined_plays_the_same_day(self, world_dir: Path, tmp_path: Path) -> None:
        outputs = []
        for pipeline in ("1", "8"):  # a fresh service each: its session counters are the day's
            with ServiceProcess(world_dir, log_dir=tmp_path / f"log-{pipeline}") as service:
                code, output = run("sim", "run", "--world", str(world_dir), "--episodes", "300", "--seed", "3",
                                   "--recommender", "remote", "--url", service.url, "--concurrency", "16",
                                   "--pipeline", pipeline)
                assert code == 0, output
                outputs.append([line for line in output.splitlines() if line.startswith("day 0:")])
        assert outputs[0] == outputs[1] and outputs[0][0].startswith("day 0: 300 episodes, reward")

    def test_console_agent(self, world_dir: Path) -> None:
        code, output = run("sim", "run", "--world", str(world_dir), "--episodes", "1", "--recommender", "console",
                           input="abc\n" + "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n" * 5 + "q\n")
        assert code == 0, output
        assert "starts with #" in output and "enter a track id" in output and "listened" in output

    def test_export_reference(self, world_dir: Path, tmp_path: Path) -> None:
        code, output = run("world", "export-reference", str(world_dir), "--out", str(tmp_path / "ref"))
        assert code == 0 and (tmp_path / "ref" / "users.json").exists()


class TestEndToEnd:
    def test_demo_then_analyze(self, world_dir: Path, tmp_path: Path) -> None:
        out = tmp_path / "demo"
        code, output = run("demo", "--calibration", "--world", str(world_dir), "--out", str(out), "--episodes", "1500")
        assert code == 0, output
        assert "simulating over HTTP" in output and "report written to" in output
        report = (out / "report.md").read_text()
        sticky = next(line for line in report.splitlines() if line.startswith("| T1 | mean_time_per_session |"))
        cells = [cell.strip() for cell in sticky.strip(" |").split("|")]
        assert cells[9:] == ["yes", "better"]  # significant after Holm; better, since more time is better
        assert report.splitlines()[2].startswith("**T1: SHIP — mean_time_per_session +")  # the verdict leads
        assert "<li>world seed: 7</li>" in (out / "report.html").read_text()  # the world's own seed
        code, output = run("ab", "analyze", str(out / "logs"), "--experiment", "CALIBRATION",
                           "--out", str(tmp_path / "again.md"), "--bootstrap", "200", "--ratio",
                           "--pre", str(out / "logs"))
        assert code == 0 and "malformed lines: 0" in output
        def table(text: str) -> list[str]:
            return [line for line in text.splitlines() if line.startswith("| T")]

        again = (tmp_path / "again.md").read_text()
        assert "Percentile bootstrap (200 resamples, seed 0)" in again and "delta method" in again
        assert "CUPED with the same metric" in again
        assert table(again.split("Percentile bootstrap")[0]) == table(report)

    def test_analyze_needs_an_experiment_in_the_logs(self, tmp_path: Path) -> None:
        log = tmp_path / "data.json"
        log.write_text("garbage\n")
        code, output = run("ab", "analyze", str(log), "--experiment", "X")
        assert code == 2 and "no log line carries experiment 'X'" in output and "malformed lines: 1" in output

    def test_demo_runs_the_reports_experiment_and_the_notebook_reads_it(self, world_dir: Path,
                                                                          tmp_path: Path) -> None:
        import json
        import os

        out = tmp_path / "runs" / "demo"
        code, output = run("demo", "--world", str(world_dir), "--out", str(out), "--collect-episodes", "3000",
                           "--episodes", "600")
        assert code == 0, output
        text = (out / "report.md").read_text()
        assert "REPORT" in text and "| T1 | mean_time_per_session |" in text
        assert (out / "artifacts" / "dssm" / "LATEST").exists() and (out / "artifacts" / "contextual").is_dir()
        assert "custom" in (out / "report.html").read_text()
        notebook = json.loads((Path(__file__).parent.parent / "examples" / "ab_analysis.ipynb").read_text())
        (tmp_path / "examples").mkdir()
        namespace: dict[str, object] = {}
        cwd = os.getcwd()
        os.chdir(tmp_path / "examples")
        try:
            for cell in notebook["cells"]:
                if cell["cell_type"] == "code":
                    exec("".join(cell["source"]), namespace)  # noqa: S102 - our own example notebook
        finally:
            os.chdir(cwd)
        assert len(namespace["frames"].table) == 8  # type: ignore[attr-defined]  # 1 treatment x 8 metrics

    def test_power_from_logs(self, world_dir: Path, tmp_path: Path) -> None:
        out = tmp_path / "demo"
        assert run("demo", "--calibration", "--world", str(world_dir), "--out", str(out), "--episodes", "900")[0] == 0
        code, output = run("ab", "power", str(out / "logs"), "--experiment", "CALIBRATION", "--effect", "0.1")
        assert code == 0, output
        assert "minimum detectable effect" in output and "users per arm" in output
        code, output = run("ab", "power", str(out / "logs"), "--experiment", "CALIBRATION", "--metric", "nope")
        assert code == 2 and "`--metric` must be one of" in output

    def test_aa_from_logs(self, world_dir: Path, tmp_path: Path) -> None:
        out = tmp_path / "demo"
        assert run("demo", "--calibration", "--world", str(world_dir), "--out", str(out), "--episodes", "900")[0] == 0
        code, output = run("ab", "aa", str(out / "logs"), "--experiment", "CALIBRATION", "--arm", "T1", "--runs", "50")
        assert code == 0, output
        assert "random splits of" in output and "false positive rate" in output
        code, output = run("ab", "aa", str(out / "logs"), "--experiment", "CALIBRATION", "--arm", "X")
        assert code == 2 and "`--arm` must be an arm label" in output

