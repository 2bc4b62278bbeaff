"""`aftershock gameday`: the gate (or every experiment) as an operator runs it, with progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from aftershock.cli.common import NameOption, TopologyOption, err
from aftershock.config.target import TARGETS
from aftershock.errors import SandboxError
from aftershock.sandbox.options import with_policies

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
# The options `gameday` and `drill` share, defined once.
ResultsOption = Annotated[
    Path, typer.Option(help="Where the run's evidence and report go (<results>/gate-<time>/).")
]
TargetOption = Annotated[str, typer.Option(help=f"One of {', '.join(TARGETS)}.")]
TargetFileOption = Annotated[
    Path | None,
    typer.Option(help="aws, k8s: the YAML target file; local: a JSON object of values."),
]
ReuseOption = Annotated[
    bool, typer.Option(help="Use a sandbox that is already up; do not boot or tear it down.")
]
GatePolicyOption = Annotated[
    Path | None, typer.Option(help="The release policy to judge the run by (gate.yaml).")
]
MetricsFileOption = Annotated[
    Path | None, typer.Option(help="Also write the run's metrics as a Prometheus textfile.")
]
CloudwatchOption = Annotated[
    bool, typer.Option("--cloudwatch", help="aws: also put the metrics on CloudWatch.")
]
NotifyOption = Annotated[
    str, typer.Option(help="Post summary.md to this Slack-compatible webhook URL.")
]


def gameday(
    all_experiments: Annotated[
        bool, typer.Option("--all", help="Every experiment (tag gameday), not just the gate.")
    ] = False,
    target: TargetOption = "local",
    target_file: TargetFileOption = None,
    select: Annotated[
        str, typer.Option("-k", help="Only experiments whose name matches (pytest -k).")
    ] = "",
    name: NameOption = "gameday",
    reuse_sandbox: ReuseOption = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="aws, k8s: print every call each experiment would make; send nothing.",
        ),
    ] = False,
    allow_destructive: Annotated[
        bool,
        typer.Option(
            "--allow-destructive", help="aws, k8s: let the faults change the real environment."
        ),
    ] = False,
    topology: TopologyOption = "single-writer",
    policies: Annotated[
        str,
        typer.Option(help="multi-writer policies, e.g. orders=quorum,inventory=delta,keys=region."),
    ] = "",
    gate_policy: GatePolicyOption = None,
    metrics_file: MetricsFileOption = None,
    cloudwatch: CloudwatchOption = False,
    notify: NotifyOption = "",
    active_active: Annotated[
        bool,
        typer.Option(
            "--active-active", help="ADR-037's partition experiments (tag active-active)."
        ),
    ] = False,
    results: ResultsOption = Path("results"),
) -> None:
    """Run the resilience gate against the target; the exit code is the verdict.

    Progress: one line per experiment step as Chaos Toolkit reports it.
    Evidence (journals, load history and timeline, node logs) lands in
    results/gate-<time>/. Ctrl-C plays the rollbacks before it stops.
    On aws and k8s, --dry-run prints the plan of every experiment (or those
    -k names), and a real run needs --allow-destructive.
    """
    marker = "active-active" if active_active else "gameday" if all_experiments else "gate"
    run_suite(
        EXPERIMENTS, marker, target=target, target_file=target_file, select=select, name=name,
        reuse_sandbox=reuse_sandbox, dry_run=dry_run, allow_destructive=allow_destructive,
        topology=topology, policies=policies, gate_policy=gate_policy, metrics_file=metrics_file,
        cloudwatch=cloudwatch, notify=notify, results=results,
    )  # fmt: skip


def run_suite(
    directory: Path,
    marker: str,
    *,
    target: str,
    target_file: Path | None,
    select: str,
    name: str,
    reuse_sandbox: bool,
    dry_run: bool,
    allow_destructive: bool,
    topology: str,
    policies: str,
    gate_policy: Path | None,
    metrics_file: Path | None,
    cloudwatch: bool,
    notify: str,
    results: Path = Path("results"),
) -> None:
    """Refuse bad input in one line, then run the `marker` experiments of `directory` in pytest.

    Exits with the gate's code: 0 passed, 1 a promise or policy failed,
    2 usage, 3 could not run.
    """
    if target not in TARGETS:
        err().print(
            f"[bold red]error:[/] unknown target {target!r}: choose one of {', '.join(TARGETS)}"
        )
        raise typer.Exit(2)
    if target_file is not None and not target_file.is_file():
        err().print(f"[bold red]error:[/] --target-file {target_file}: no such file")
        raise typer.Exit(2)
    if target != "local":
        remote_preflight(target, target_file, dry_run, allow_destructive, select, directory)
    elif dry_run:
        err().print("[bold red]error:[/] --dry-run plans a remote target: add --target aws or k8s")
        raise typer.Exit(2)
    try:
        with_policies("sync", topology, policies)
    except SandboxError as exc:
        err().print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    command = [
        sys.executable, "-m", "pytest", str(directory), "-m", marker,
        "--target", target, "--sandbox", name, "--topology", topology,
        "--results", str(results.resolve()), "-p", "no:cacheprovider", "-v", "--log-cli-level=INFO",
        "--log-cli-format=%(asctime)s %(message)s", "--log-cli-date-format=%H:%M:%S",
    ]  # fmt: skip
    if select:
        command += ["-k", select]
    if policies:
        command += ["--policies", policies]
    if gate_policy is not None:
        command += ["--gate-policy", str(gate_policy)]
    if metrics_file is not None:
        command += ["--metrics-file", str(metrics_file)]
    if cloudwatch:
        command.append("--cloudwatch")
    if notify:
        command += ["--notify", notify]
    if target_file is not None:
        command += ["--target-file", str(target_file)]
    if reuse_sandbox:
        command.append("--reuse-sandbox")
    if allow_destructive:
        command.append("--allow-destructive")
    # pytest gets Ctrl-C with us (same process group); the plugin plays the
    # rollbacks. Waiting out its exit keeps the verdict its exit code.
    process = subprocess.Popen(command, cwd=EXPERIMENTS.parent, env=os.environ.copy())
    while True:
        try:
            raise typer.Exit(gate_code(process.wait()))
        except KeyboardInterrupt:
            err().print("[bold yellow]interrupted:[/] rolling back, then stopping")


PYTEST_USAGE = (4, 5)  # pytest's usage error, and "no experiment selected"


def gate_code(code: int) -> int:
    """The gate's exit code for pytest's: its usage errors are the gate's 2; the plugin
    maps the rest (0 passed, 1 failed, 2 usage, 3 could not run)."""
    return 2 if code in PYTEST_USAGE else code


def remote_preflight(
    target: str,
    target_file: Path | None,
    dry_run: bool,
    allow_destructive: bool,
    select: str,
    directory: Path = EXPERIMENTS,
) -> None:
    """The refusals of a remote target, each one line on stderr and exit 2, before any request.

    With --dry-run, print the plan and exit 0 instead of running anything.
    """
    from aftershock.config.target_file import load
    from aftershock.errors import SandboxError
    from aftershock.targets.aws.safety import check_allowlist, require_credentials

    try:
        if target_file is None or target_file.suffix not in (".yaml", ".yml"):
            raise SandboxError(
                f"target {target} needs a YAML target file: --target-file "
                "experiments/targets/aws.example.yaml (copy it and fill in your ids)"
            )
        described = load(target_file)
        check_allowlist(described)
        if dry_run:
            print_plan(target, described, select, directory)
            raise typer.Exit(0)
        if not allow_destructive:
            raise SandboxError(
                f"refused: target {target} changes a real environment; pass --allow-destructive "
                "(or --dry-run to print the plan)"
            )
        if target == "aws":
            require_credentials(described)
    except SandboxError as exc:
        err().print(f"[bold red]error:[/] {exc}", markup=True)
        raise typer.Exit(2) from None


def print_plan(target: str, described: Any, select: str, directory: Path = EXPERIMENTS) -> None:
    """Every experiment's plan (only those whose name contains `select`, when given)."""
    from aftershock.runner import dry_run

    paths = [p for p in sorted(directory.glob("*.json")) if select in p.stem]
    if not paths:
        err().print(f"[bold red]error:[/] no experiment in {directory} matches -k {select!r}")
        raise typer.Exit(2)
    print(dry_run.render(dry_run.plan_all(paths, target, described), target, described))
