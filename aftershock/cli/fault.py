"""`aftershock fault`: inject, heal and list faults by hand on a game day."""

from __future__ import annotations

import importlib
import inspect
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from aftershock import FAULT_MODULES
from aftershock.cli.common import (
    NameOption,
    StateRootOption,
    operator_errors,
    out,
    require_state,
)
from aftershock.config.target import target_name
from aftershock.config.topology import DEFAULT_NAME, DEFAULT_STATE_ROOT, Topology
from aftershock.errors import SandboxError
from aftershock.targets import local

fault_app = typer.Typer(no_args_is_help=True, help="Inject, heal and list faults by hand.")

CHAOS_PARAMETERS = ("configuration", "secrets")


def fault_actions() -> dict[str, Callable[..., Any]]:
    """Every public fault action of the library, by name."""
    actions = {}
    for module_name in FAULT_MODULES:
        module = importlib.import_module(module_name)
        actions |= {name: getattr(module, name) for name in module.__all__}
    actions.pop("heal_all", None)  # `fault heal --all` is the way to call it
    return actions


def usage(name: str, action: Callable[..., Any]) -> str:
    params = [p for p in inspect.signature(action).parameters if p not in CHAOS_PARAMETERS]
    return " ".join([f"aftershock fault inject {name}", *(p.upper() for p in params)])


def bind(name: str, action: Callable[..., Any], args: list[str]) -> dict[str, Any]:
    """Match command-line words to the action's parameters, converted by annotation."""
    params = [
        p for p in inspect.signature(action).parameters.values() if p.name not in CHAOS_PARAMETERS
    ]
    if len(args) != len(params):
        raise SandboxError(f"{name} takes {len(params)} argument(s): {usage(name, action)}")
    bound = {}
    for param, word in zip(params, args, strict=True):
        if param.annotation in (int, "int"):
            if not word.lstrip("-").isdigit():
                raise SandboxError(f"{param.name} must be an integer, not {word!r}")
            bound[param.name] = int(word)
        else:
            bound[param.name] = word
    return bound


@fault_app.command()
def inject(
    fault: Annotated[str, typer.Argument(help="Fault name, e.g. isolate_region.")],
    args: Annotated[list[str] | None, typer.Argument(help="The fault's arguments.")] = None,
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
    target: Annotated[str, typer.Option(help="Where the fault acts: local, aws or k8s.")] = "local",
) -> None:
    """Inject (or undo) one fault and print what it touched."""
    with operator_errors("the fault may be half-applied: run `aftershock fault heal --all`"):
        actions = fault_actions()
        if fault not in actions:
            raise SandboxError(
                f"unknown fault {fault!r}: choose one of {', '.join(sorted(actions))}"
            )
        kwargs = bind(fault, actions[fault], list(args or []))
        configuration = {
            "aftershock_target": target,
            "aftershock_sandbox": name,
            "aftershock_state_root": str(state_root),
        }
        if target_name(configuration) == "local":
            require_state(name, state_root)
        began = time.monotonic()
        result = actions[fault](**kwargs, configuration=configuration)
        out().print(json.dumps(result), markup=False)
        out().print(f"[dim]{fault} done in {time.monotonic() - began:.1f} s[/]")


@fault_app.command()
def heal(
    all_faults: Annotated[
        bool, typer.Option("--all", help="Undo every fault in the ledger.")
    ] = False,
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
) -> None:
    """Undo every recorded fault (the same as `aftershock sandbox heal`)."""
    with operator_errors("heal stopped half-way: run it again"):
        if not all_faults:
            raise SandboxError("say --all: `aftershock fault heal --all` undoes every fault")
        heal_and_report(require_state(name, state_root))


def heal_and_report(topology: Topology) -> None:
    """Undo every recorded fault, then every breakage applied by hand, and print each undo."""
    from aftershock.breakages.apply import undo_all

    undone = local.heal_all(topology)
    for item in undone:
        out().print(f"healed: {json.dumps(item)}", markup=False)
    out().print(f"{len(undone)} fault(s) healed" if undone else "no fault to heal")
    mended = undo_all(topology)
    if mended:
        out().print(f"{len(mended)} breakage(s) mended: {', '.join(mended)}")


@fault_app.command("list")
def list_faults(
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The active faults of the sandbox, with their age."""
    with operator_errors():
        topology = require_state(name, state_root)
        entries = local.ledger(topology).entries()
        now = datetime.now(UTC)
        rows = [
            {
                "id": e.id,
                "fault": e.fault,
                "params": e.params,
                "age_s": round((now - datetime.fromisoformat(e.recorded_at)).total_seconds(), 1),
            }
            for e in entries
        ]
        if as_json:
            print(json.dumps(rows, indent=2))
            return
        if not rows:
            out().print("no active fault")
            return
        table = Table(title=f"active faults of sandbox {name}")
        for column in ("id", "fault", "params", "age"):
            table.add_column(column)
        for row in rows:
            params = " ".join(f"{k}={v}" for k, v in row["params"].items())
            table.add_row(row["id"], row["fault"], params, f"{row['age_s']:.0f} s")
        out().print(table)
