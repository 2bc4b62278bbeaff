"""`aftershock report`: a run's game-day report, or the trend across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aftershock.cli.common import err, operator_errors, out


def report(
    results: Annotated[
        Path,
        typer.Argument(help="A run's directory (results/gate-<time>); with --history, results/."),
    ],
    history: Annotated[
        bool, typer.Option("--history", help="The trend across the runs under RESULTS.")
    ] = False,
    last: Annotated[int, typer.Option(help="With --history: how many runs, newest.", min=1)] = 10,
) -> None:
    """Write report.html, summary.md and summary.json for a run (or history.html for many).

    The report is also written at the end of every pytest session that ran
    experiments (`make gameday`, `aftershock gameday`).
    """
    from aftershock.report.figures import ReportError

    if not results.is_dir():
        err().print(f"[bold red]error:[/] {results}: no such directory")
        raise typer.Exit(2)
    problem = ""
    # A malformed journal or anything else unforeseen: one line, traceback to a file.
    with operator_errors("no report written"):
        try:
            if history:
                _history(results, last)
            else:
                _run(results)
        except ReportError as exc:  # the operator pointed at the wrong directory
            problem = str(exc)
    if problem:
        err().print(f"[bold red]error:[/] {problem}")
        raise typer.Exit(2)


def _run(run_dir: Path) -> None:
    from aftershock.report.run import write_report
    from aftershock.report.text import score

    written = write_report(run_dir)
    out().print(f"{written.verdict.upper()}, resilience score {score(written.score)}")
    for path in (written.html, written.markdown, written.json):
        out().print(f"  {path} ({path.stat().st_size / 1024:,.0f} KiB)")


def _history(results: Path, last: int) -> None:
    from rich.table import Table

    from aftershock.report.text import DASH, rto, score
    from aftershock.report.trend import write_history

    html, md, shown = write_history(results, last)
    table = Table("run", "verdict", "score", "experiment: score / RTO / lost")
    for run in shown:
        parts = [
            f"{e['name']}: {score(e['score'])} / {rto(e.get('rto'))} / "
            f"{(e.get('orders') or {}).get('lost', DASH)}"
            for e in run["experiments"]
        ]
        table.add_row(run["run"], run["verdict"], score(run["score"]), "\n".join(parts))
    out().print(table)
    out().print(f"trend of {len(shown)} runs: {html}, {md}")


def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Run directories (results/gate-<time>), one column each."),
    ],
    output: Annotated[
        Path | None, typer.Option("--out", help="Also write the table to this Markdown file.")
    ] = None,
) -> None:
    """The side-by-side promise table: one row per promise, one column per topology.

    Run the same experiments (e.g. `-m active-active`) once per topology and
    policy (`--topology`, `--policies`), then put the runs side by side. Runs
    of the same topology and policies share a column.
    """
    from aftershock.report.figures import ReportError
    from aftershock.report.promises import merged, table
    from aftershock.report.run import run_summary

    columns = []
    with operator_errors("no table written"):
        for run_dir in runs:
            if not run_dir.is_dir():
                err().print(f"[bold red]error:[/] {run_dir}: no such directory")
                raise typer.Exit(2)
            try:
                summary = run_summary(run_dir)
            except ReportError as exc:
                err().print(f"[bold red]error:[/] {exc}")
                raise typer.Exit(2) from None
            columns.append((summary["topology"], summary["promises"]))
        text = table(merged(columns))
        if output is not None:
            output.write_text(text, encoding="utf-8")
    typer.echo(text, nl=False)  # plain: a Markdown table must not be wrapped or styled


def policy(
    run: Annotated[Path, typer.Argument(help="A run's directory (results/gate-<time>).")],
    policy_file: Annotated[
        Path, typer.Option("--policy", help="The release policy (gate.yaml).")
    ] = Path("gate.yaml"),
    history: Annotated[
        Path | None,
        typer.Option(help="Where the earlier runs are (default: the run's parent directory)."),
    ] = None,
) -> None:
    """Judge a run against the release policy; exit 0 if it holds, 1 if a rule failed.

    The gate does this itself with `--gate-policy` (`make gameday`); this is
    the same judgement for a run that already happened. The verdict lands in
    the run's summary.json and summary.md.
    """
    from aftershock.config.gate_policy import GatePolicyInvalid, load
    from aftershock.report.figures import ReportError
    from aftershock.report.policy import apply_policy

    if not run.is_dir():
        err().print(f"[bold red]error:[/] {run}: no such directory")
        raise typer.Exit(2)
    try:
        rules = load(policy_file)
        with operator_errors("nothing judged"):
            result = apply_policy(run, rules, history)
    except (GatePolicyInvalid, ReportError) as exc:
        err().print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    # Plain lines: a CI log must not get them wrapped at 80 columns.
    if result.valid is True:
        typer.echo(f"policy held: {result.reason}")
        for skipped in result.details["not_judged"]:
            typer.echo(f"  not judged: {skipped}")
        return
    typer.echo("policy FAILED")
    for failed in result.details["failed"]:
        typer.echo(f"  rule {failed['rule']}: {failed['reason']}")
    raise typer.Exit(1)
