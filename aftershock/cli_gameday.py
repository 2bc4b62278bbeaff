"""`aftershock gameday`: the gate (or every experiment) as an operator runs it, with progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from aftershock.cli_common import NameOption, err
from aftershock.faults.target import TARGETS

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def gameday(
    all_experiments: Annotated[
        bool, typer.Option("--all", help="Every experiment (tag gameday), not just the gate.")
    ] = False,
    target: Annotated[str, typer.Option(help=f"One of {', '.join(TARGETS)}.")] = "local",
    target_file: Annotated[
        Path | None, typer.Option(help="JSON object of configuration values for the target.")
    ] = None,
    select: Annotated[
        str, typer.Option("-k", help="Only experiments whose name matches (pytest -k).")
    ] = "",
    name: NameOption = "gameday",
    reuse_sandbox: Annotated[
        bool, typer.Option(help="Use a sandbox that is already up; do not boot or tear it down.")
    ] = False,
) -> None:
    """Run the resilience gate against the target; the exit code is the verdict.

    Progress: one line per experiment step as Chaos Toolkit reports it.
    Evidence (journals, load history and timeline, node logs) lands in
    results/gate-<time>/. Ctrl-C plays the rollbacks before it stops.
    """
    if target not in TARGETS:
        err().print(
            f"[bold red]error:[/] unknown target {target!r}: choose one of {', '.join(TARGETS)}"
        )
        raise typer.Exit(2)
    if target_file is not None and not target_file.is_file():
        err().print(f"[bold red]error:[/] --target-file {target_file}: no such file")
        raise typer.Exit(2)
    command = [
        sys.executable, "-m", "pytest", str(EXPERIMENTS), "-m",
        "gameday" if all_experiments else "gate", "--target", target, "--sandbox", name,
        "-p", "no:cacheprovider", "-v", "--log-cli-level=INFO",
        "--log-cli-format=%(asctime)s %(message)s", "--log-cli-date-format=%H:%M:%S",
    ]  # fmt: skip
    if select:
        command += ["-k", select]
    if target_file is not None:
        command += ["--target-file", str(target_file)]
    if reuse_sandbox:
        command.append("--reuse-sandbox")
    # pytest gets Ctrl-C with us (same process group); the plugin plays the
    # rollbacks. Waiting out its exit keeps the verdict its exit code.
    process = subprocess.Popen(command, cwd=EXPERIMENTS.parent, env=os.environ.copy())
    while True:
        try:
            raise typer.Exit(process.wait())
        except KeyboardInterrupt:
            err().print("[bold yellow]interrupted:[/] rolling back, then stopping")
