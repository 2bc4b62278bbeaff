"""`aftershock drill`: the architecture record's monthly DR drill, its six steps as one suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from aftershock.cli.common import NameOption, TopologyOption, err
from aftershock.cli.gameday import (
    EXPERIMENTS,
    CloudwatchOption,
    GatePolicyOption,
    MetricsFileOption,
    NotifyOption,
    ResultsOption,
    ReuseOption,
    TargetFileOption,
    TargetOption,
    run_suite,
)

DRILL = EXPERIMENTS / "drill"


def drill(
    target: TargetOption = "local",
    target_file: TargetFileOption = None,
    name: NameOption = "drill",
    reuse_sandbox: ReuseOption = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="aws, k8s: print the drill's plan, every call; send nothing."
        ),
    ] = False,
    allow_destructive: Annotated[
        bool,
        typer.Option(
            "--allow-destructive", help="aws, k8s: let the drill fail over the real environment."
        ),
    ] = False,
    peak_users: Annotated[
        int,
        typer.Option(
            min=1,
            max=100_000,
            help="The normal peak, in Locust users; step 3 adds as many again for 2x.",
        ),
    ] = 30,
    level_seconds: Annotated[
        int, typer.Option(min=5, max=3600, help="Seconds each capacity level is measured.")
    ] = 15,
    topology: TopologyOption = "single-writer",
    gate_policy: GatePolicyOption = None,
    metrics_file: MetricsFileOption = None,
    cloudwatch: CloudwatchOption = False,
    notify: NotifyOption = "",
    results: ResultsOption = Path("results"),
) -> None:
    """Run the DR drill: fail taiwan's health check, watch tokyo take everyone, restore taiwan.

    Step 1 fails taiwan's health check (Route 53's inversion on aws; the
    edge's check in the sandbox) while taiwan keeps running; 2 monitors
    the failover; 3 checks tokyo carries the normal peak and twice it;
    4 runs the critical journeys from each geo; 5 restores taiwan and
    measures the failback; 6 writes the DR report (report.html, summary.md
    with the drill section) in results/gate-<time>/. The exit code is the
    verdict: 0 passed, 1 a step or promise failed, 2 usage, 3 could not run.
    """
    if not DRILL.is_dir():
        err().print(f"[bold red]error:[/] the drill's experiments are missing: {DRILL}")
        raise typer.Exit(2)
    # The experiment reads these through its configuration's env indirection.
    os.environ["AFTERSHOCK_DRILL_PEAK_USERS"] = str(peak_users)
    os.environ["AFTERSHOCK_DRILL_LEVEL_S"] = str(level_seconds)
    run_suite(
        DRILL, "drill", target=target, target_file=target_file, select="", name=name,
        reuse_sandbox=reuse_sandbox, dry_run=dry_run, allow_destructive=allow_destructive,
        topology=topology, policies="", gate_policy=gate_policy, metrics_file=metrics_file,
        cloudwatch=cloudwatch, notify=notify, results=results,
    )  # fmt: skip
