"""`aftershock breakage`: break the platform on purpose, to watch a verdict catch it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from aftershock.breakages import apply as breaking
from aftershock.breakages.catalog import BREAKAGES, get
from aftershock.breakages.ledger import BreakageLedger
from aftershock.cli.common import NameOption, StateRootOption, operator_errors, out, require_state
from aftershock.config.topology import DEFAULT_NAME, DEFAULT_STATE_ROOT, Topology
from aftershock.errors import SandboxError

breakage_app = typer.Typer(
    no_args_is_help=True, help="Break the sandbox's platform on purpose, and mend it."
)


@breakage_app.command("list")
def list_breakages(
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
) -> None:
    """Every breakage: the promise it breaks, how, its parameters; those in force."""
    table = Table("breakage", "promise", "mechanism", "parameters")
    for breakage in BREAKAGES:
        params = ", ".join(f"{k}={v}" for k, v in breakage.defaults.items())
        table.add_row(breakage.name, breakage.promise, breakage.mechanism, params)
    out().print(table)
    applied = [e.name for e in BreakageLedger.of(Topology(name, state_root)).entries()]
    if applied:
        out().print(f"in force on {name}: {', '.join(applied)}")


def parse(words: list[str]) -> dict[str, Any]:
    """`key=value` words as parameters (JSON values where they parse: 5, true, [7422])."""
    found: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise SandboxError(f"parameters are key=value, not {word!r}")
        try:
            found[key] = json.loads(value)
        except ValueError:
            found[key] = value
    return found


@breakage_app.command("apply")
def apply_breakage(
    breakage: Annotated[str, typer.Argument(help="Breakage name (see `breakage list`).")],
    params: Annotated[list[str] | None, typer.Argument(help="key=value parameters.")] = None,
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
) -> None:
    """Apply one breakage; it stays until `breakage undo` or `sandbox heal`."""
    with operator_errors("nothing is left broken: a failed breakage is undone at once"):
        topology = require_state(name, state_root)
        try:
            get(breakage).params(parse(list(params or [])))
        except (KeyError, ValueError) as exc:
            raise SandboxError(str(exc).strip("'\"")) from None
        entry = breaking.apply(topology, breakage, **parse(list(params or [])))
        out().print(json.dumps({"breakage": entry.name, "touched": entry.touched}), markup=False)


@breakage_app.command("undo")
def undo_breakage(
    breakage: Annotated[str, typer.Argument(help="Breakage name, or --all.")] = "",
    all_breakages: Annotated[bool, typer.Option("--all", help="Mend every breakage.")] = False,
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
) -> None:
    """Mend one breakage (or all of them); safe to run twice."""
    with operator_errors("a breakage could not be mended: run it again"):
        topology = require_state(name, state_root)
        if all_breakages == bool(breakage):
            raise SandboxError("name one breakage, or say --all")
        mended = (
            breaking.undo_all(topology)
            if all_breakages
            else breaking.undo_named(topology, breakage)
        )
        out().print(f"mended: {', '.join(mended)}" if mended else "nothing to mend")
