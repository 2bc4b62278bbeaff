"""The `aftershock` command line."""

from __future__ import annotations

import json
import shlex
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aftershock.cli.breakage import breakage_app
from aftershock.cli.common import (
    Interrupter,
    NameOption,
    StateRootOption,
    TopologyOption,
    operator_errors,
    out,
    require_state,
)
from aftershock.cli.drill import drill
from aftershock.cli.fault import fault_app, heal_and_report
from aftershock.cli.gameday import gameday
from aftershock.cli.load import load
from aftershock.cli.report import compare, policy, report
from aftershock.cli.service import service_app
from aftershock.cli.verdicts import verdicts
from aftershock.config.topology import DEFAULT_NAME, DEFAULT_STATE_ROOT, Topology
from aftershock.sandbox import lifecycle
from aftershock.sandbox import status as sandbox_status
from aftershock.sandbox.endpoints import describe
from aftershock.sandbox.options import SandboxOptions
from aftershock.sandbox.state import load_credentials

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
sandbox_app = typer.Typer(
    no_args_is_help=True, help="The local two-region sandbox (real daemons in namespaces)."
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(fault_app, name="fault")
app.add_typer(breakage_app, name="breakage")
app.add_typer(service_app, name="service")
app.command()(load)
app.command()(gameday)
app.command()(drill)
app.command()(report)
app.command()(compare)
app.command()(policy)
app.command()(verdicts)


def _topology(name: str, state_root: Path) -> Topology:
    return Topology(name, state_root)


def _progress() -> Callable[[str, str], None]:
    console = out()
    began = time.monotonic()

    def report(component: str, message: str) -> None:
        console.print(f"[dim]{time.monotonic() - began:6.1f}s[/] [bold]{component}[/] {message}")

    return report


@sandbox_app.command()
def up(
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
    replication: Annotated[
        str,
        typer.Option(
            help="PostgreSQL replication: sync (synchronous_mode), async, or unsafe "
            "(async, and failover allowed whatever the lag)."
        ),
    ] = "sync",
    readiness: Annotated[
        str,
        typer.Option(help="Shop readiness: strict (database and cache) or degraded (database)."),
    ] = "strict",
    edge_checks: Annotated[
        str, typer.Option(help="Edge health checks: fast (0.5 s x 2) or route53 (30 s x 2).")
    ] = "fast",
    products: Annotated[int, typer.Option(help="Catalog size seeded at boot.")] = 1000,
    stock: Annotated[int, typer.Option(help="Units in stock per product at boot.")] = 1000,
    events: Annotated[
        str,
        typer.Option(
            help="Order events: outbox (written with the order, relayed) or direct "
            "(published after the commit: the dual write that loses events)."
        ),
    ] = "outbox",
    topology_kind: TopologyOption = "single-writer",
    orders: Annotated[
        str,
        typer.Option(
            help="multi-writer orders: local (acknowledged once the own region committed) "
            "or quorum (only once the other region holds it too)."
        ),
    ] = "local",
    inventory: Annotated[
        str,
        typer.Option(
            help="multi-writer stock: lww (one row, last update wins), min (the ADR's "
            "apply-side minimum) or delta (per-region allotments that commute)."
        ),
    ] = "lww",
    order_keys: Annotated[
        str,
        typer.Option(help="multi-writer order keys: global, or region (key@region)."),
    ] = "global",
) -> None:
    """Boot the sandbox: etcd, PostgreSQL, Redis, the brokers, the shops and the edge."""
    with operator_errors("everything started was torn down"):
        options = SandboxOptions(
            replication, readiness, edge_checks, products, stock, events,
            topology_kind, orders, inventory, order_keys,
        )  # fmt: skip
        topology = _topology(name, state_root)
        # SIGTERM (a CI timeout, `kill`) must tear down like Ctrl-C does.
        terminated = Interrupter()
        signal.signal(signal.SIGTERM, terminated)
        info = lifecycle.up(topology, options, report=_progress())
        if terminated.fired:  # its KeyboardInterrupt was swallowed: the boot went on
            lifecycle.down(topology)
            raise KeyboardInterrupt("SIGTERM during the boot")
        out().print(f"[green]sandbox {name} is up[/] ({info['boot_seconds']:.1f} s)")
        out().print(f'edge: {topology.edge_url}  (eval "$(aftershock sandbox env --name {name})")')


@sandbox_app.command()
def down(
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
    keep_state: Annotated[bool, typer.Option(help="Keep logs and data on disk.")] = False,
) -> None:
    """Stop every daemon and remove the namespaces (and the state unless --keep-state)."""
    with operator_errors():
        removed = lifecycle.down(_topology(name, state_root), keep_state, report=_progress())
        out().print(f"sandbox {name} is down" + ("" if removed else " (nothing was running)"))


@sandbox_app.command()
def reap(
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Reap only this sandbox.")
    ] = None,
) -> None:
    """Remove what killed runs left behind: processes, namespaces, links, state.

    Without --name, sandboxes that booted and still run are left alone.
    """
    with operator_errors():
        names = [name] if name else lifecycle.known_sandboxes(state_root)
        if not names:
            out().print("nothing to reap")
        for each in names:
            topology = _topology(each, state_root)
            if not name and lifecycle.is_in_use(topology):
                out().print(f"skipped {each}: it is up (stop it with `sandbox down --name {each}`)")
                continue
            removed = lifecycle.reap(topology)
            out().print(f"reaped {each}: {', '.join(removed) or 'nothing left'}")


@sandbox_app.command()
def heal(name: NameOption = DEFAULT_NAME, state_root: StateRootOption = DEFAULT_STATE_ROOT) -> None:
    """Undo every fault recorded in the sandbox's fault ledger."""
    with operator_errors("heal stopped half-way: run it again"):
        heal_and_report(require_state(name, state_root))


@sandbox_app.command()
def status(
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Each component's region, address, role, health and replication lag."""
    with operator_errors():
        topology = require_state(name, state_root)
        rows = sandbox_status.collect(topology, load_credentials(topology))
        if as_json:
            print(json.dumps(sandbox_status.as_dicts(rows), indent=2))
            return
        table = Table(title=f"sandbox {name}")
        for column in ("component", "region", "address", "role", "health", "lag"):
            table.add_column(column)
        for row in rows:
            good = ("healthy", "running", "ready", "UP", "not leader")
            colour = "green" if row.health in good else "red"
            table.add_row(
                row.component, row.region, row.address, row.role,
                f"[{colour}]{row.health}[/]", row.lag,
            )  # fmt: skip
        out().print(table)


@sandbox_app.command()
def env(
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of exports.")] = False,
) -> None:
    """Endpoints as shell exports (eval "$(aftershock sandbox env)") or JSON. No secrets."""
    with operator_errors():
        info = describe(require_state(name, state_root))
        if as_json:
            print(json.dumps(info, indent=2))
            return
        write = info["postgres"]["write"]
        exports = {
            "AFTERSHOCK_SANDBOX": name,
            "PGHOST": write["host"],
            "PGPORT": str(write["port"]),
            "PGUSER": write["user"],
            "PGDATABASE": write["dbname"],
            "PGPASSFILE": info["pgpassfile"],
            "AFTERSHOCK_CREDENTIALS": info["credentials_file"],
            "AFTERSHOCK_REDIS_TAIWAN": f"{info['redis']['taiwan']['host']}:6379",
            "AFTERSHOCK_REDIS_TOKYO": f"{info['redis']['tokyo']['host']}:6379",
            "AFTERSHOCK_HAPROXY_STATS": info["haproxy_stats"],
            "AFTERSHOCK_EDGE": info["edge"],
            "AFTERSHOCK_EDGE_TAIWAN": info["edge_regions"]["taiwan"],
            "AFTERSHOCK_EDGE_TOKYO": info["edge_regions"]["tokyo"],
        }
        for key, value in exports.items():
            print(f"export {key}={shlex.quote(value)}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="aftershock")


if __name__ == "__main__":
    sys.exit(main())
