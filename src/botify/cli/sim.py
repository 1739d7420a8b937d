"""``botify sim run``: simulate days of sessions in-process, over HTTP, at the console or at random."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console
from botify.errors import LabError
from botify.experiments import plan_or_default
from botify.recipes.progress import progress_bars

if TYPE_CHECKING:
    from botify.experiments import ExperimentPlan
    from botify.sim.agents.base import Agent
    from botify.sim.world import SimWorld


@click.group(cls=LabGroup)
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
@click.option("--episodes", type=click.IntRange(min=1), default=None,
              help="Episodes per day [default: 2000; with the return model the model decides].")
@click.option("--seed", type=click.IntRange(min=0), default=31337, show_default=True)
@click.option("--recommender", type=click.Choice(["remote", "inprocess", "console", "random"]), default="inprocess",
              show_default=True)
@click.option("--url", default="http://127.0.0.1:5001", show_default=True, help="Service URL (remote).")
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True, help="Sessions in flight.")
@click.option("--pipeline", type=click.IntRange(min=1), default=1, show_default=True,
              help="Sessions per connection (remote): their requests are pipelined (HTTP/1.1); our service answers "
                   "them together, at about half the CPU per request. 1: a connection per session, as a server "
                   "without pipelining needs.")
@click.option("--experiment", type=click.Path(path_type=Path), default=None,
              help="Experiment YAML (inprocess: served; remote: the service's file, for per-arm figures); "
                   "default: the calibration experiment.")
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True,
              help="Where the experiment's artifacts are loaded from (inprocess).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Shard the users over Ray actors (inprocess or remote): a local Ray instance, or the cluster at "
                   "ADDRESS. Needs `pip install 'botify[ray]'`.")
@click.option("--shards", type=click.IntRange(min=1), default=None, help="Ray actors [default: the cluster's CPUs].")
@click.option("--calendar", "calendar_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Return model: write each day's wall-clock span here, for `botify ab analyze --calendar`.")
@click.option("--pause", is_flag=True, help="Wait for Enter between days.")
@click.option("--hook", default=None, help="Command to run between days (gets BOTIFY_DAY).")
def sim_run(world_dir: Path, episodes: int | None, seed: int, recommender: str, url: str, days: int,
            concurrency: int, pipeline: int, experiment: Path | None, artifacts: Path, ray_address: str | None,
            shards: int | None, calendar_file: Path | None, pause: bool, hook: str | None) -> None:
    """Simulate DAYS days of EPISODES sessions and print mean reward and steps per day.

    In a world with the return model (docs/returns.md) each day's visitors come from the model: it prints each
    day's active users, sessions and mean session time, each arm by day, and the long-term A/B table.
    """
    from botify.ab.metrics import REPORT_METRICS, user_metrics
    from botify.ab.table import compare_arms, render_rich
    from botify.sim.agents import ConsoleAgent, InProcessAgent, RandomAgent, RemoteAgent
    from botify.sim.run import run_days
    from botify.sim.world import load_sim_world

    sim_world = load_sim_world(world_dir)
    plan = plan_or_default(experiment)
    agent: Agent
    if ray_address is not None:
        from botify.sim.agents.sharded import RayAgent

        if recommender not in ("inprocess", "remote"):
            raise LabError("--ray shards the inprocess and remote recommenders")
        agent = RayAgent(sim_world, world_dir, plan=plan if recommender == "inprocess" else None,
                         artifacts=artifacts, url=url if recommender == "remote" else None, concurrency=concurrency,
                         pipeline=pipeline, address=None if ray_address == "local" else ray_address, shards=shards)
        console.print(f"Ray: {agent.shards} shards of the users")
    elif recommender == "inprocess":
        agent = InProcessAgent(sim_world, plan, artifacts=artifacts)
    elif recommender == "random":
        agent = RandomAgent(sim_world)
    elif recommender == "remote":
        agent = RemoteAgent(sim_world, url, concurrency=concurrency, pipeline=pipeline)
    else:
        agent = ConsoleAgent(sim_world, console=console)
    if sim_world.truth.returns is not None:
        if episodes is not None:
            raise LabError("this world has the return model: each day's sessions come from it; drop --episodes")
        if pause or hook:
            raise LabError("--pause and --hook are for worlds without the return model")
    elif calendar_file is not None:
        raise LabError("--calendar is for worlds with the return model (docs/returns.md)")
    if sim_world.truth.returns is not None:
        routed = recommender == "inprocess" or (recommender == "remote" and experiment is not None)
        _play_horizon(agent, sim_world, days=days, seed=seed, plan=plan if routed else None,
                      show_progress=recommender != "console", calendar_file=calendar_file)
        _report_http(agent)
        return
    with progress_bars(console, "sessions", transient=True, enabled=recommender != "console") as progress:
        summaries = run_days(agent, episodes=episodes or 2000, days=days, seed=seed,
                             between_days=_between_days(pause, hook), progress=progress,
                             on_day=lambda s: console.print(s.describe()))
    _report_http(agent)
    if recommender == "inprocess" and len(plan.routing.arms) > 1:  # with --ray too: the same sessions
        import numpy as np

        users = np.concatenate([s.results.user for s in summaries])
        times = np.concatenate([s.results.time for s in summaries])
        tracks = np.concatenate([s.results.tracks for s in summaries])
        metrics = user_metrics(users, plan.routing.assign_many(users), times, tracks)
        arms = ", ".join(f"{a.label}={a.recommender}" for a in plan.routing.arms)
        in_process_metrics = tuple(m for m in REPORT_METRICS if m != "mean_request_latency")
        rows = compare_arms(metrics, metric_names=in_process_metrics)
        console.print(render_rich(rows, title=f"{plan.routing.name} ({arms})"))


def _report_http(agent: object) -> None:
    from botify.sim.agents import RemoteAgent
    from botify.sim.agents.sharded import RayAgent

    if isinstance(agent, RemoteAgent) or (isinstance(agent, RayAgent) and agent.remote):
        console.print(f"HTTP: {agent.answered_requests:,} requests answered (/next and /last), "
                      f"{agent.retried_requests:,} attempts retried (same X-Request-Id: answered the same, "
                      "counted once by the analysis)")


def _play_horizon(agent: Agent, sim_world: SimWorld, *, days: int, seed: int, plan: ExperimentPlan | None,
                  show_progress: bool, calendar_file: Path | None) -> None:
    from botify.recipes.horizon import arms_by_day, daily_sessions, long_term_table, retention_table, write_calendar
    from botify.sim.days import play_days

    with progress_bars(console, transient=True, enabled=show_progress) as progress:
        horizon = play_days(agent, sim_world, days=days, seed=seed, progress=progress,
                            on_day=lambda s: console.print(s.describe()))
    if calendar_file is not None:
        write_calendar(horizon, calendar_file)
        console.print(f"calendar of the {days} days written to {calendar_file}")
    if plan is None or len(plan.routing.arms) < 2:
        return
    sessions = daily_sessions(horizon, plan)
    labels = [f"{a.label}={a.recommender}" for a in plan.routing.arms]
    console.print(arms_by_day(sessions, labels))
    console.print(retention_table(sessions, labels))
    console.print(long_term_table(sessions, f"{plan.routing.name} over {days} days ({', '.join(labels)})"))
