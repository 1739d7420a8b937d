"""The ``botify`` command line: world, sim, serve.

Every command validates its options at the edge and turns a ``LabError`` into a one-line message and exit
code 2, never a traceback.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from botify.errors import ConfigError, LabError

__all__ = ["main"]

DEFAULT_WORLD = Path("worlds/default")
DEMO_EPISODES = 30_000
console = Console(width=None if sys.stdout.isatty() else 150)


class LabGroup(click.Group):
    """A group that reports ``LabError`` as a clean usage error."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.UsageError(str(error), ctx) from error
        except LabError as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=LabGroup)
@click.version_option(package_name="botify")
def main() -> None:
    """Botify: an open lab for music next-track recommendation."""


@main.group(cls=LabGroup)
def world() -> None:
    """Generate and export simulated worlds."""


def _parse_overrides(values: tuple[str, ...]) -> dict[str, Any]:
    from botify.world.config import WorldConfig

    fields = WorldConfig.__dataclass_fields__
    overrides: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise ConfigError(f"`--set` expects KEY=VALUE with KEY one of {sorted(fields)}, got {item!r}")
        kind = type(getattr(WorldConfig(), key))
        try:
            overrides[key] = kind(raw)
        except ValueError as error:
            raise ConfigError(f"`--set {key}` expects a {kind.__name__}, got {raw!r}") from error
    return overrides


@world.command("generate")
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--tracks", type=click.IntRange(min=1), default=50_000, show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Any other world knob (docs/world.md).")
def world_generate(out: Path, seed: int, tracks: int, users: int, overrides: tuple[str, ...]) -> None:
    """Write a world: OUT/catalog (public) and OUT/truth (simulator-private)."""
    from botify.world.config import WorldConfig
    from botify.world.generate import write_world

    config = WorldConfig.from_dict({"n_tracks": tracks, "n_users": users, **_parse_overrides(overrides)})
    with console.status(f"generating {tracks:,} tracks and {users:,} users"):
        catalog, _ = write_world(out, config, seed)
    console.print(f"world written to {out}: {catalog.n_tracks:,} tracks, {catalog.n_artists:,} artists, "
                  f"{users:,} users (seed {seed})")


@world.command("export-reference")
@click.argument("world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Default: WORLD_DIR/reference.")
def world_export_reference(world_dir: Path, out: Path | None) -> None:
    """Write the reference course's tracks.json, tracks.npy and users.json."""
    from botify.world.reference import export_reference

    for path in export_reference(world_dir, out or world_dir / "reference"):
        console.print(f"wrote {path}")


@main.group(cls=LabGroup)
def sim() -> None:
    """Simulate users."""


def _between_days(pause: bool, hook: str | None) -> Callable[[int], None] | None:
    if not pause and not hook:
        return None

    def between(day: int) -> None:
        if hook:
            env = {**os.environ, "BOTIFY_DAY": str(day)}
            completed = subprocess.run(shlex.split(hook), env=env, check=False)
            if completed.returncode != 0:
                raise LabError(f"hook {hook!r} failed after day {day} with exit code {completed.returncode}")
        if pause:
            click.prompt(f"day {day} done; press Enter to start day {day + 1}", default="", show_default=False)

    return between


@sim.command("run")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--episodes", type=click.IntRange(min=1), default=2000, show_default=True, help="Episodes per day.")
@click.option("--seed", type=click.IntRange(min=0), default=31337, show_default=True)
@click.option("--recommender", type=click.Choice(["remote", "inprocess", "console", "random"]), default="inprocess",
              show_default=True)
@click.option("--url", default="http://127.0.0.1:5001", show_default=True, help="Service URL (remote).")
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True, help="Sessions in flight.")
@click.option("--experiment", type=click.Path(path_type=Path), default=None,
              help="Experiment YAML (inprocess); default: the calibration experiment.")
@click.option("--pause", is_flag=True, help="Wait for Enter between days.")
@click.option("--hook", default=None, help="Command to run between days (gets BOTIFY_DAY).")
def sim_run(world_dir: Path, episodes: int, seed: int, recommender: str, url: str, days: int, concurrency: int,
            experiment: Path | None, pause: bool, hook: str | None) -> None:
    """Simulate DAYS days of EPISODES sessions and print mean reward and steps per day."""
    from botify.ab.metrics import REPORT_METRICS, user_metrics
    from botify.ab.table import compare_arms, render_rich
    from botify.experiments import load_experiments
    from botify.sim.agents import ConsoleAgent, InProcessAgent, RandomAgent, RemoteAgent
    from botify.sim.agents.base import Agent
    from botify.sim.run import run_days
    from botify.sim.world import load_sim_world

    sim_world = load_sim_world(world_dir)
    plan = load_experiments(experiment) if experiment else default_plan()
    agent: Agent
    if recommender == "inprocess":
        agent = InProcessAgent(sim_world, plan)
    elif recommender == "random":
        agent = RandomAgent(sim_world)
    elif recommender == "remote":
        agent = RemoteAgent(sim_world, url, concurrency=concurrency)
    else:
        agent = ConsoleAgent(sim_world, console=console)
    summaries = run_days(agent, episodes=episodes, days=days, seed=seed, between_days=_between_days(pause, hook),
                         show_progress=recommender != "console", on_day=lambda s: console.print(s.describe()))
    if isinstance(agent, RemoteAgent):
        console.print(f"HTTP: {agent.answered_requests:,} requests answered (/next and /last), "
                      f"{agent.retried_requests:,} attempts retried (same X-Request-Id: answered the same, "
                      "counted once by the analysis)")
    if recommender == "inprocess" and len(plan.routing.arms) > 1:
        import numpy as np

        users = np.concatenate([s.results.user for s in summaries])
        times = np.concatenate([s.results.time for s in summaries])
        tracks = np.concatenate([s.results.tracks for s in summaries])
        metrics = user_metrics(users, plan.routing.assign_many(users), times, tracks)
        arms = ", ".join(f"{a.label}={a.recommender}" for a in plan.routing.arms)
        in_process_metrics = tuple(m for m in REPORT_METRICS if m != "mean_request_latency")
        rows = compare_arms(metrics, metric_names=in_process_metrics)
        console.print(render_rich(rows, title=f"{plan.routing.name} ({arms})"))


def default_plan() -> Any:
    """The calibration experiment: Random control, StickyArtist, TopPop."""
    from botify.demo import CALIBRATION
    from botify.experiments import load_experiments

    return load_experiments(CALIBRATION)


@main.command("serve")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Experiment YAML; default: the calibration experiment.")
@click.option("--catalog", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True,
              help="World directory (only its public catalog is read).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5001, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--log-dir", type=click.Path(path_type=Path), default=Path("log"), show_default=True)
@click.option("--log-max-bytes", type=click.IntRange(min=1024), default=64 << 20, show_default=True,
              help="Rotate the event log at this size.")
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True,
              help="Where arms' artifacts (`params: {artifact: NAME}`) are loaded from.")
@click.option("--admin-token", envvar="BOTIFY_ADMIN_TOKEN", default=None,
              help="Enables POST /admin/reload for callers sending this bearer token (env BOTIFY_ADMIN_TOKEN).")
@click.option("--state", envvar="BOTIFY_STATE", default=None,
              help="Shared per-user session state, e.g. redis://127.0.0.1:6379/0 (default: in-process).")
def serve(config_path: Path | None, world_dir: Path, host: str, port: int, workers: int, log_dir: Path,
          log_max_bytes: int, artifacts: Path, admin_token: str | None, state: str | None) -> None:
    """Run the recommendation service until SIGTERM/SIGINT."""
    from botify.experiments import load_experiments
    from botify.service.app import BotifyApp
    from botify.service.server import ServeOptions
    from botify.service.server import serve as run_server
    from botify.world.catalog import load_catalog

    plan = load_experiments(config_path) if config_path is not None else default_plan()
    from botify.service.server import make_store

    make_store(state)  # fail fast on a bad URL
    BotifyApp(load_catalog(world_dir), plan, artifacts=artifacts)  # fail fast on bad arms or artifacts
    run_server(ServeOptions(world_dir=world_dir, config=config_path, host=host, port=port, workers=workers,
                            log_dir=log_dir, log_max_bytes=log_max_bytes, artifacts=artifacts,
                            admin_token=admin_token, state=state))


@main.command("demo")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--collect-episodes", type=click.IntRange(min=1), default=200_000, show_default=True,
              help="Episodes of the collection day the models learn from.")
@click.option("--episodes", type=click.IntRange(min=1), default=DEMO_EPISODES, show_default=True,
              help="Episodes of the A/B day.")
@click.option("--seed", type=click.IntRange(min=0), default=31337, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True)
@click.option("--experiment", "experiment_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Another experiment file for the A/B day (arms may use dssm and contextual).")
@click.option("--calibration", is_flag=True,
              help="Instead: the quick calibration day (Random vs StickyArtist vs TopPop), no training.")
def demo(world_dir: Path, collect_episodes: int, episodes: int, seed: int, concurrency: int, workers: int,
         out: Path, experiment_file: Path | None, calibration: bool) -> None:
    """The main job: the report's experiment, DSSM (control) vs the report's custom recommender over real HTTP.

    World -> collection day -> DSSM + Contextual from its logs -> A/B day -> table, report.md and report.html.
    """
    out.mkdir(parents=True, exist_ok=True)
    if calibration:
        from botify.demo import DemoOptions, run_demo

        run_demo(DemoOptions(world_dir=world_dir, out=out, episodes=episodes, seed=seed, concurrency=concurrency,
                             workers=workers), console)
        return
    import botify.seminar as recipes

    recipes.run_seminar(recipes.SeminarOptions(
        world_dir=world_dir, out=out, collect_episodes=collect_episodes, episodes=episodes, seed=seed,
        concurrency=concurrency, workers=workers, models=recipes.REPORT_MODELS,
        plan=experiment_file or recipes.DATA / "report.yml"), console)


@main.command("train")
@click.argument("models", nargs=-1, required=True)
@click.option("--logs", "log_paths", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Log files or directories (every replica, rotated files included); repeatable.")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True,
              help="World directory (only its public catalog is read).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def train(models: tuple[str, ...], log_paths: tuple[Path, ...], world_dir: Path, out: Path, seed: int) -> None:
    """Train MODELS (toppop, dssm, dssm-triplet, als, contextual, contextual-diverse, or all) from logs."""
    from botify.train.dataset import load_interactions
    from botify.train.pipeline import MODELS, train_model
    from botify.world.catalog import load_catalog

    names = sorted(MODELS) if "all" in models else list(models)
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; expected some of {sorted(MODELS)} or 'all'")
    catalog = load_catalog(world_dir)
    with console.status("reading logs"):
        data, report = load_interactions(log_paths, catalog.n_tracks)
    console.print(f"{report.describe()}; {len(data):,} interactions")
    for name in names:
        console.print(f"trained {train_model(name, catalog, data, out, seed=seed, report=report).describe()}")


def _recipe(name: str, *, episodes: int, models: str, plan: str, help: str) -> None:
    """Register a recipe command: collection day -> train ``models`` -> A/B day of ``plan`` -> table."""

    @main.command(name, help=help)
    @click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD,
                  show_default=True)
    @click.option("--out", type=click.Path(path_type=Path), default=Path("runs") / name, show_default=True)
    @click.option("--collect-episodes", type=click.IntRange(min=1), default=200_000, show_default=True)
    @click.option("--episodes", type=click.IntRange(min=1), default=episodes, show_default=True)
    @click.option("--seed", type=click.IntRange(min=0), default=31337, show_default=True)
    @click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True)
    def command(world_dir: Path, out: Path, collect_episodes: int, episodes: int, seed: int,
                concurrency: int) -> None:
        import botify.seminar as recipes

        out.mkdir(parents=True, exist_ok=True)
        recipes.run_seminar(recipes.SeminarOptions(
            world_dir=world_dir, out=out, collect_episodes=collect_episodes, episodes=episodes, seed=seed,
            concurrency=concurrency, models=getattr(recipes, models), plan=recipes.DATA / plan), console)


_recipe("seminar", episodes=70_000, models="SEMINAR_MODELS", plan="seminar.yml",
        help="Collection day -> train all models -> 7-way A/B day vs Random -> the seminar table.")


@main.group(cls=LabGroup)
def cluster() -> None:
    """The production topology on this machine: Redis, service replicas and nginx."""


@cluster.command("up")
@click.option("--replicas", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5001, show_default=True, help="nginx's port.")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("runs/cluster"), show_default=True)
@click.option("--catalog", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
@click.option("--artifacts", type=click.Path(path_type=Path), default=None)
def cluster_up(replicas: int, port: int, workdir: Path, world_dir: Path, config_path: Path | None,
               artifacts: Path | None) -> None:
    """Start Redis, the replicas and nginx in the background (stop them with `botify cluster down`)."""
    from botify.cluster.topology import Cluster, ClusterSpec

    if (workdir / "cluster.json").exists():
        raise ConfigError(f"a cluster is already recorded in {workdir}; run `botify cluster down --dir {workdir}`")
    running = Cluster(ClusterSpec(world_dir=world_dir, workdir=workdir, replicas=replicas, port=port,
                                  config=config_path, artifacts=artifacts), detach=True).up()
    console.print(f"cluster up: nginx {running.url} -> replicas on ports {running.replica_ports}, Redis "
                  f"{running.state_url}; logs in {workdir}/replicaN/log")


@cluster.command("down")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("runs/cluster"), show_default=True)
def cluster_down(workdir: Path) -> None:
    """Stop nginx (graceful), the replicas (SIGTERM: logs flushed) and Redis."""
    from botify.cluster.topology import Cluster

    for stopped in Cluster.stop_recorded(workdir):
        console.print(f"stopped {stopped}")


@main.group(cls=LabGroup)
def logs() -> None:
    """Service logs."""


@logs.command("collect")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("runs/cluster"), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def logs_collect(workdir: Path, out: Path) -> None:
    """Copy every replica's log files (rotated ones too) to OUT/replicaN/ (the reference's `docker cp` step)."""
    import shutil

    copied = 0
    for log_dir in sorted(workdir.glob("replica*/log")):
        target = out / log_dir.parent.name
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(log_dir.iterdir()):
            if path.is_file():
                shutil.copy2(path, target / path.name)
                copied += 1
    if copied == 0:
        raise ConfigError(f"no replica logs under {workdir}/replica*/log")
    console.print(f"copied {copied} log file(s) to {out}")


@main.group(cls=LabGroup)
def tune() -> None:
    """Tune a recommender's parameters on the in-process simulator."""


@tune.command("custom")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("runs/demo/artifacts"),
              show_default=True, help="DSSM and Contextual; trained here first if missing.")
@click.option("--trials", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--search-episodes", type=click.IntRange(min=100), default=40_000,
              show_default=True)
@click.option("--confirm-episodes", type=click.IntRange(min=100), default=100_000,
              show_default=True)
@click.option("--collect-episodes", type=click.IntRange(min=1), default=200_000, show_default=True,
              help="Collection day, if the models must be trained first.")
def tune_custom(world_dir: Path, artifacts: Path, trials: int, seed: int, search_episodes: int,
                confirm_episodes: int, collect_episodes: int) -> None:
    """Search the custom recommender's T and P with Optuna, then confirm the best pair in a fresh A/B day."""
    from botify.day import ensure_world
    from botify.sim.world import load_sim_world
    from botify.tune import TuneOptions, ensure_report_models, run_tune

    ensure_world(world_dir, console)
    world = load_sim_world(world_dir)
    ensure_report_models(world, artifacts, collect_episodes=collect_episodes, seed=seed, console=console)
    run_tune(world, TuneOptions(artifacts=artifacts, trials=trials, seed=seed, search_episodes=search_episodes,
                                confirm_episodes=confirm_episodes), console)


@main.group(cls=LabGroup)
def ab() -> None:
    """Analyse A/B experiments from the service's logs."""


@ab.command("aa")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--experiment", required=True, help="Experiment whose arm's users are re-split.")
@click.option("--arm", default="C", show_default=True, help="The arm whose users form the A/A population.")
@click.option("--metric", default="mean_time_per_session", show_default=True)
@click.option("--runs", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def ab_aa(logs: tuple[Path, ...], experiment: str, arm: str, metric: str, runs: int, seed: int) -> None:
    """Re-split one arm's users by random salts and report the false positive rate of the Welch test."""
    from botify.ab.aa import aa_false_positive_rate
    from botify.ab.analyze import analyze_logs
    from botify.ab.logs import arm_index
    from botify.ab.metrics import REPORT_METRICS

    if metric not in REPORT_METRICS:
        raise ConfigError(f"`--metric` must be one of {list(REPORT_METRICS)}, got {metric!r}")
    try:
        index = arm_index(arm)
    except ValueError as error:
        raise ConfigError(f"`--arm` must be an arm label like 'C' or 'T1', got {arm!r}") from error
    metrics = analyze_logs(logs, experiment).metrics
    rows = metrics.arm == index
    console.print(aa_false_positive_rate(metrics.user[rows], metrics.metric(metric)[rows], runs=runs,
                                         seed=seed).describe())


@ab.command("coverage")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True)
@click.option("--runs", type=click.IntRange(min=1), default=400, show_default=True)
@click.option("--episodes", type=click.IntRange(min=10), default=1000, show_default=True, help="Episodes per run.")
@click.option("--truth-episodes", type=click.IntRange(min=1000), default=2_000_000, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def ab_coverage(world_dir: Path, runs: int, episodes: int, truth_episodes: int, seed: int) -> None:
    """How often 95 % Welch intervals of small runs cover a large run's effect (Random vs StickyArtist)."""
    from botify.coverage import interval_coverage
    from botify.sim.world import load_sim_world

    result = interval_coverage(load_sim_world(world_dir), ("random", "sticky_artist"), runs=runs,
                               episodes=episodes, truth_episodes=truth_episodes, seed=seed)
    console.print(result.describe())


@ab.command("power")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--experiment", required=True, help="Experiment whose control arm gives the variance.")
@click.option("--metric", default="mean_time_per_session", show_default=True)
@click.option("--effect", type=float, default=0.05, show_default=True, help="Relative effect to detect (0.05 = 5%).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--power", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8, show_default=True)
def ab_power(logs: tuple[Path, ...], experiment: str, metric: str, effect: float, alpha: float, power: float) -> None:
    """How many users a test needs, and the smallest effect the logged sample can detect."""
    import numpy as np

    from botify.ab.analyze import analyze_logs
    from botify.ab.metrics import REPORT_METRICS
    from botify.ab.power import PowerPlan, minimum_detectable_effect, required_users

    if metric not in REPORT_METRICS:
        raise ConfigError(f"`--metric` must be one of {list(REPORT_METRICS)}, got {metric!r}")
    analysis = analyze_logs(logs, experiment)
    values = analysis.metrics.metric(metric)[analysis.metrics.arm == 0]
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    users = int(len(values))
    plan = PowerPlan(metric, mean, sd, users, minimum_detectable_effect(sd, mean, users, alpha=alpha, power=power),
                     effect, required_users(sd, mean, effect, alpha=alpha, power=power))
    console.print(plan.describe())


@ab.command("analyze")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--experiment", required=True, help="Experiment name, as in the log lines.")
@click.option("--control", default="C", show_default=True, help="Control arm label.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write a Markdown report here.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Write a self-contained HTML report here.")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also give percentile-bootstrap intervals with this many resamples (0 = off).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Bootstrap seed.")
@click.option("--ratio", is_flag=True, help="Also compare time per session pooled over sessions (delta method).")
@click.option("--pre", "pre_logs", multiple=True, type=click.Path(path_type=Path),
              help="Earlier logs of the same users: CUPED-adjusted comparisons with their variance reduction.")
@click.option("--engine", type=click.Choice(["duckdb", "python"]), default="duckdb", show_default=True,
              help="duckdb: validated Parquet copies cached in $BOTIFY_CACHE (~/.cache/botify); python: no cache.")
def ab_analyze(logs: tuple[Path, ...], experiment: str, control: str, alpha: float, out: Path | None,
               resamples: int, seed: int, ratio: bool, pre_logs: tuple[Path, ...], html_path: Path | None,
               engine: str) -> None:
    """Read every replica's logs (rotated files included) and print the treatment x metric table."""
    from botify.ab.analyze import analyze_logs
    from botify.ab.table import render_rich

    analysis = analyze_logs(logs, experiment, control=control, alpha=alpha, engine=engine)
    console.print(analysis.read.describe())
    console.print(f"sessions: {len(analysis.sessions):,} (unfinished, left out: {analysis.sessions.unfinished:,})")
    console.print(render_rich(analysis.rows, title=f"{experiment}: treatments vs {control}"))
    console.print(("[bold red]" if analysis.srm.mismatch else "") + analysis.srm.describe())
    from botify.ab.sections import bootstrap_section, cuped_section, ratio_section

    sections = []
    if resamples:
        sections.append(bootstrap_section(analysis, resamples, alpha=alpha, seed=seed))
    if ratio:
        sections.append(ratio_section(analysis, alpha=alpha))
    if pre_logs:
        sections.append(cuped_section(analysis, pre_logs, alpha=alpha))
    extra = "".join("\n" + section for section in sections)
    if extra:
        console.print(extra)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(analysis.markdown() + extra)
        console.print(f"report written to {out}")
    if html_path is not None:
        from botify.ab.html import render_html

        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render_html(analysis, f"{experiment}: treatments vs {control}",
                                         {"logs": ", ".join(str(p) for p in logs), "alpha": alpha}))
        console.print(f"HTML report written to {html_path}")


if __name__ == "__main__":
    sys.exit(main())
