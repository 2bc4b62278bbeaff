"""`aftershock service check`: is a service contract usable, before a game day needs it?

Loads the contract (every bad field named at once, exit 2) and says what
the harness will do with it: how each region's instance starts, when it
counts as ready, which final reads it declares and which verdicts will
therefore say "not judged". With `--dsn` it also runs each declared read
on that database and checks its result's shape (exit 3 when a read fails
or answers other columns): the check a stranger's service needs first.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from aftershock.cli.common import err, out
from aftershock.config.service_contract import ContractInvalid, ServiceContract, load_contract
from aftershock.config.service_reads import READS, QueryShapeWrong, check_shape, not_judged

service_app = typer.Typer(no_args_is_help=True, help="Service contracts: what the harness tests.")

CHECK_PREFIX = "aftershock-service-check-"
"""The key prefix the reads get under `--dsn`: it matches no load's rows."""


@service_app.command()
def check(
    contract_file: Annotated[Path, typer.Argument(help="The service contract (service.yaml).")],
    dsn: Annotated[
        str,
        typer.Option(
            help="libpq conninfo of a database holding the service's schema: run the reads."
        ),
    ] = "",
) -> None:
    """Validate a service contract; with --dsn, run its final reads and check their shapes."""
    try:
        contract = load_contract(contract_file)
    except ContractInvalid as exc:
        err().print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    for line in describe(contract):
        out().print(line, markup=False, soft_wrap=True)
    if dsn:
        problem = run_reads(contract, dsn)
        if problem:
            err().print(f"[bold red]error:[/] {problem}", soft_wrap=True)
            raise typer.Exit(3)
        out().print("every declared read ran on the database and answered in its shape")


def describe(contract: ServiceContract) -> list[str]:
    """What the harness will do with `contract`, a line each."""
    service = contract.service
    lines = [
        f"service {contract.name} ({contract.path})",
        f"  runs in each region as {service.user}: {shlex.join(service.command)}",
        f"  ready when GET {contract.readiness.path} answers "
        f"{' or '.join(map(str, contract.readiness.statuses))} "
        f"(within {contract.readiness.timeout_s:g} s)",
    ]
    lines += [f"  sidecar {p.name}: {shlex.join(p.command)}" for p in contract.sidecars]
    schema = ", ".join(p.name for p in contract.schema_files) or "no SQL files"
    lines.append(f"  database {contract.database}, applied at boot: {schema}")
    for read in READS:
        if contract.declares(read):
            lines.append(f"  read {read}: declared")
        else:
            lines.append(f"  read {read}: {not_judged(read)}")
    lines.append(f"  load: {contract.locustfile}")
    if contract.events is not None:
        lines.append(
            f"  events on {contract.events.subject}, the order's key in {contract.events.key_field}"
        )
    return lines


def run_reads(contract: ServiceContract, dsn: str) -> str:
    """Run every declared read on `dsn`; the first problem as one line, "" when none."""
    try:
        conn = psycopg.connect(dsn, connect_timeout=5, autocommit=True)
    except psycopg.Error as exc:
        return f"--dsn: cannot connect: {_first_line(exc)}"
    with conn:
        for name, query in contract.reads.items():
            params: dict[str, Any] = {"prefix": CHECK_PREFIX}
            try:
                cursor = conn.execute(query, params)
                check_shape(contract.name, name, [c.name for c in cursor.description or []])
            except QueryShapeWrong as exc:
                return str(exc)
            except psycopg.Error as exc:
                return f"service {contract.name}: schema.reads.{name} failed: {_first_line(exc)}"
    return ""


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
