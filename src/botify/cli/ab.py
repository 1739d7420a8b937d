"""``botify ab``: analyse logs (table, power, A/A) and the intervals' coverage study."""

from __future__ import annotations

from pathlib import Path

import click

from botify.cli.common import DEFAULT_WORLD, LabGroup, console
from botify.errors import ConfigError


@click.group(cls=LabGroup)
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
    from botify.ab.metrics import REPORT_METRICS
    from botify.logs.reader import arm_index

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
    """How often 95 % intervals of small runs cover a large run's effect (StickyArtist against Random).

    The absolute difference (Welch), the relative effect by both definitions (scaled, delta) and the difference of
    p90 session time.
    """
    from botify.recipes.coverage import interval_coverage
    from botify.recipes.progress import progress_bars
    from botify.sim.world import load_sim_world

    with progress_bars(console, "runs") as progress:
        result = interval_coverage(load_sim_world(world_dir), ("random", "sticky_artist"), runs=runs,
                                   episodes=episodes, truth_episodes=truth_episodes, seed=seed, progress=progress)
    console.print(result.describe())


@ab.command("power")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--experiment", required=True, help="Experiment whose control arm gives the variance.")
@click.option("--metric", default="mean_time_per_session", show_default=True,
              help="A per-user metric, or pooled_time_per_session (all time over all sessions, delta method).")
@click.option("--effect", type=float, default=0.05, show_default=True, help="Relative effect to detect (0.05 = 5%).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--power", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8, show_default=True)
def ab_power(logs: tuple[Path, ...], experiment: str, metric: str, effect: float, alpha: float, power: float) -> None:
    """How many users a test needs, and the smallest effect the logged sample can detect."""
    import numpy as np

    from botify.ab.analyze import analyze_logs
    from botify.ab.looks import POOLED_RATIO
    from botify.ab.metrics import REPORT_METRICS
    from botify.ab.power import PowerPlan, minimum_detectable_effect, required_users
    from botify.ab.ratio import ratio_with_variance

    if metric not in (*REPORT_METRICS, POOLED_RATIO):
        raise ConfigError(f"`--metric` must be one of {[*REPORT_METRICS, POOLED_RATIO]}, got {metric!r}")
    analysis = analyze_logs(logs, experiment)
    control = analysis.metrics.arm == 0
    users = int(control.sum())
    if metric == POOLED_RATIO:  # the ratio's per-user standard deviation is its linearization's (delta method)
        mean, variance = ratio_with_variance(analysis.metrics.time[control], analysis.metrics.sessions[control])
        sd = float(np.sqrt(variance * users))
    else:
        values = analysis.metrics.metric(metric)[control]
        mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
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
@click.option("--memory", default="4GB", show_default=True,
              help="Memory the analysis may use (4GB, 512MB, 2GiB): DuckDB sessionizes the lines and spills to disk "
                   "what does not fit. `none`: every line in memory, as before (about 210 bytes per line).")
@click.option("--calendar", "calendar_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="calendar.json of a multi-day run (return model): adds the horizon's metrics.")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The experiment file whose `metrics` block (primary metric, guardrails) the verdict follows.")
@click.option("--sequential", type=click.Choice(["gst", "gavi", "msprt"]), default=None,
              help="Also analyse every look with always-valid intervals (docs/sequential.md).")
@click.option("--looks", type=click.IntRange(min=1), default=None,
              help="Sequential looks: K equal slices of the logs' time span (default: the calendar's days, else 10).")
@click.option("--max-users", type=click.IntRange(min=2), default=None,
              help="Planned users of a treatment and the control together: GST's maximum, GAVI's planned sample "
                   "(default: the experiment ran to plan; GST then uses the statistical information, 1/variance).")
@click.option("--spending", default="obf", show_default=True,
              help="GST's alpha spending: obf (O'Brien-Fleming type) or power:RHO.")
@click.option("--tau", type=click.FloatRange(0, min_open=True), default=None,
              help="mSPRT's mixing standard deviation, in the metric's units (default: 10 % of the first look's sd).")
@click.option("--segments", is_flag=True,
              help="Also the primary metric by segment, as the experiment file's `segments` block declares them "
                   "(default: the genre of each user's first track).")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True,
              help="The world whose public catalog gives the tracks' genres (segments by first_genre).")
@click.option("--relative-interval", "relative", type=click.Choice(["scaled", "delta"]), default="scaled",
              show_default=True, help="Intervals in %: the difference's interval over the control mean (the "
                                      "reference's), or the delta method (counts the control mean's error).")
def ab_analyze(logs: tuple[Path, ...], experiment: str, control: str, alpha: float, out: Path | None,
               resamples: int, seed: int, ratio: bool, pre_logs: tuple[Path, ...], html_path: Path | None,
               engine: str, memory: str, calendar_file: Path | None, plan_file: Path | None, sequential: str | None,
               looks: int | None, max_users: int | None, spending: str, tau: float | None, segments: bool,
               world_dir: Path, relative: str) -> None:
    """Read every replica's logs (rotated files included), decide, and print the verdict and the table."""
    if sequential is None and (looks is not None or max_users is not None or tau is not None):
        raise ConfigError("`--looks`, `--max-users` and `--tau` go with `--sequential gst|gavi|msprt`")
    from botify.ab.analyze import analyze_logs
    from botify.ab.table import render_rich
    from botify.experiments import load_experiments
    from botify.logs.bounded import parse_memory
    from botify.recipes.progress import progress_bars
    from botify.segment_plan import SegmentPlan

    experiment_plan = load_experiments(plan_file) if plan_file is not None else None
    segment_plan = experiment_plan.segments if experiment_plan is not None else SegmentPlan.default()
    if segments and any(spec.needs_pre_period for spec in segment_plan.specs) and not pre_logs:
        raise ConfigError("segments by pre_activity or returning need pre-period logs (`--pre LOGS`)")
    bound = None if memory.lower() == "none" or engine == "python" else memory
    if bound is not None:
        parse_memory(bound)  # a bad size is a usage error before any work
    with progress_bars(console, transient=True) as advance:
        analysis = analyze_logs(logs, experiment, control=control, alpha=alpha, engine=engine,
                                metrics_plan=experiment_plan.metrics if experiment_plan is not None else None,
                                first_tracks=segments, relative=relative, memory=bound, progress=advance)
    for line in analysis.verdict_lines():
        console.print(f"[bold]{line}[/]")
    console.print(analysis.read.describe())
    console.print(f"sessions: {len(analysis.sessions):,} (unfinished, left out: {analysis.sessions.unfinished:,})")
    console.print(render_rich(analysis.rows, title=f"{experiment}: treatments vs {control}", plan=analysis.plan))
    console.print(("[bold red]" if analysis.srm.mismatch else "") + analysis.srm.describe())
    from botify.ab.sections import (
        bootstrap_section,
        cuped_section,
        ratio_section,
        segment_report,
        sequential_result,
        sequential_section,
    )
    from botify.logs.reader import arm_index

    sections = []
    if resamples:
        sections.append(bootstrap_section(analysis, resamples, alpha=alpha, seed=seed))
    if ratio:
        sections.append(ratio_section(analysis, alpha=alpha))
    if pre_logs:
        sections.append(cuped_section(analysis, pre_logs, alpha=alpha))
    long_term = None
    if calendar_file is not None:
        from botify.ab.longterm import Calendar, DailySessions, long_term_markdown

        long_term = DailySessions.from_logs(analysis.sessions, Calendar.load(calendar_file))
        sections.append(long_term_markdown(long_term, control=arm_index(control), alpha=alpha))
    result = None
    if sequential is not None:
        result, looks_from = sequential_result(analysis, method=sequential, looks=looks, calendar=calendar_file,
                                               alpha=alpha, max_users=max_users, spending=spending, tau=tau)
        sections.append(sequential_section(result, looks_from, analysis.plan.primary.name))
    if segments:
        from botify.world.catalog import load_catalog

        catalog = load_catalog(world_dir) if any(s.by == "first_genre" for s in segment_plan.specs) else None
        report = segment_report(analysis, segment_plan, genre_names=catalog.genre_names if catalog else None,
                                genre_of_track=catalog.genre_id if catalog else None, pre_logs=pre_logs, alpha=alpha)
        sections.append(report.markdown())
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
                                         {"logs": ", ".join(str(p) for p in logs), "alpha": alpha}, long_term,
                                         result))
        console.print(f"HTML report written to {html_path}")



@ab.command("peeking")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=Path("worlds/returns"),
              show_default=True, help="A world with the return model (generated, seed 0, if missing).")
@click.option("--experiment", "experiment_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Its first experiment's arms, control first (default: the seminar's).")
@click.option("--artifacts", type=click.Path(path_type=Path), default=None,
              help="The models the arms name (default: OUT/artifacts; the seminar's are trained there if missing).")
@click.option("--days", type=click.IntRange(min=2), default=14, show_default=True, help="Daily looks per run.")
@click.option("--runs", type=click.IntRange(min=1), default=1000, show_default=True, help="A/A runs.")
@click.option("--ab-runs", type=click.IntRange(min=2), default=200, show_default=True,
              help="Runs of the whole experiment (every treatment against the control).")
@click.option("--metric", default="mean_time_per_session", show_default=True, help="The metric looked at daily.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/peeking"), show_default=True)
def ab_peeking(world_dir: Path, experiment_file: Path | None, artifacts: Path | None, days: int, runs: int,
               ab_runs: int, metric: str, alpha: float, seed: int, out: Path) -> None:
    """Look at simulated experiments every day: false positives, power and stopping day of each method.

    Naive daily Welch tests against GST, GAVI and mSPRT (docs/sequential.md), on fresh simulations of the
    return-model world; report.md and report.html in OUT.
    """
    from botify.ab.metrics import REPORT_METRICS
    from botify.experiments import BUNDLED
    from botify.recipes.peeking import PeekingOptions, run_peeking

    if metric not in REPORT_METRICS:
        raise ConfigError(f"`--metric` must be one of {list(REPORT_METRICS)}, got {metric!r}")
    run_peeking(PeekingOptions(world_dir, out, artifacts, experiment_file or BUNDLED / "seminar.yml", days, runs,
                               ab_runs, seed, alpha, metric), console)


@ab.command("interleave")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--experiment", required=True, help="Experiment name, as in the log lines.")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The experiment file: names each team by its recommender.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write a Markdown report here.")
def ab_interleave(logs: tuple[Path, ...], experiment: str, plan_file: Path | None, alpha: float,
                  out: Path | None) -> None:
    """Interleaving's preference per pair of teams, per interleaved arm, beside the experiment's A/B table."""
    from botify.ab.analyze import analyze_logs
    from botify.ab.interleave import interleaving_credits, preferences
    from botify.ab.table import render_markdown, render_rich
    from botify.experiments import arm_name, load_experiments
    from botify.logs.columnar import read_events_with
    from botify.ope.targets import arm_label

    events, _ = read_events_with("duckdb", logs, experiment)
    arms = sorted(set(events.arm[events.team >= 0].tolist()))
    if not arms:
        raise ConfigError(f"no line of experiment {experiment!r} carries a `team`: no arm of it interleaves")
    routing = load_experiments(plan_file).routing if plan_file is not None else None
    lines = []
    for arm in arms:
        credits = interleaving_credits(events, arm=arm)
        names = None
        if routing is not None and arm < len(routing.arms):
            components = routing.arms[arm].params.get("components", [])
            names = [c if isinstance(c, str) else arm_label(str(c.get("recommender")), c.get("params") or {})
                     for c in components] or None
        lines.append(f"interleaved arm {arm_name(arm)}: {credits.picks.sum():,} picks credited "
                     f"({credits.unanswered:,} last picks of unfinished sessions left out)")
        lines += [f"  {p.describe(names)}" for p in preferences(credits, alpha=alpha)]
    for line in lines:
        console.print(line)
    analysis = analyze_logs(logs, experiment, alpha=alpha)
    console.print(render_rich(analysis.rows, title=f"{experiment}: A/B, treatments vs C", plan=analysis.plan))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"# Interleaving in {experiment}\n\nPreference per pair of teams (mean over users of "
                       "(C_b - C_a) / (C_a + C_b), the listened time of each team's picks), Student-t interval:\n\n"
                       + "\n".join(f"- {line.strip()}" for line in lines)
                       + f"\n\n## The A/B table\n\n{render_markdown(analysis.rows, analysis.plan)}")
        console.print(f"report written to {out}")


@ab.command("sensitivity")
@click.option("--world", "world_dir", type=click.Path(path_type=Path), default=DEFAULT_WORLD, show_default=True,
              help="The world (generated, seed 0, if missing).")
@click.option("--experiment", "experiment_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Its first experiment's arms, plus the report's custom recommender (default: the "
                                 "seminar's).")
@click.option("--artifacts", type=click.Path(path_type=Path), default=None,
              help="The arms' models (default: OUT/artifacts; the seminar's are trained there if missing).")
@click.option("--episodes", type=click.IntRange(min=100), default=70_000, show_default=True,
              help="Episodes of every run (one per arm, one per pair).")
@click.option("--collect-episodes", type=click.IntRange(min=100), default=100_000, show_default=True,
              help="Episodes of the collection day the models are trained from, if they are missing.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/sensitivity"), show_default=True)
def ab_sensitivity(world_dir: Path, experiment_file: Path | None, artifacts: Path | None, episodes: int,
                   collect_episodes: int, seed: int, out: Path) -> None:
    """How many users interleaving needs to get the A/B test's direction right, against the A/B test's own.

    Every pair of the seminar's arms and the report's custom recommender; report.md and report.html in OUT.
    """
    from botify.experiments import BUNDLED
    from botify.recipes.sensitivity import SensitivityOptions, run_sensitivity

    run_sensitivity(SensitivityOptions(world_dir, out, artifacts, experiment_file or BUNDLED / "seminar.yml",
                                       episodes, collect_episodes, seed), console)
