"""The local sandbox as a fault target.

Every fault records itself in the sandbox's ledger before it acts and is
forgotten only after its inverse succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftershock.faults.ledger import Entry, Ledger
from aftershock.sandbox import nft, shops
from aftershock.sandbox.errors import SandboxError
from aftershock.sandbox.processes import is_alive, kill_pids, respawn
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.state import registry
from aftershock.sandbox.topology import REGIONS, SITES, Topology

START_TIMEOUT = 30.0


class FaultConflict(SandboxError):
    """The same fault is already injected."""


def ledger(topology: Topology) -> Ledger:
    return Ledger(topology.state_dir / "faults.json")


def _check(value: str, choices: tuple[str, ...], what: str = "region") -> None:
    if value not in choices:
        raise SandboxError(f"unknown {what} {value!r}: choose one of {', '.join(choices)}")


def _record(topology: Topology, fault: str, params: dict[str, Any], hint: str) -> Entry:
    book = ledger(topology)
    if book.find(fault, params):
        raise FaultConflict(f"{hint} already; undo it or run `aftershock sandbox heal` first")
    return book.record(Entry(fault, params))


def _forget(topology: Topology, fault: str, params: dict[str, Any]) -> None:
    book = ledger(topology)
    entry = book.find(fault, params)
    if entry:
        book.forget(entry.id)


def isolate_region(topology: Topology, region: str) -> dict[str, Any]:
    """Blackhole everything in and out of `region`'s namespace."""
    _check(region, SITES)
    entry = _record(topology, "isolate_region", {"region": region}, f"{region} is isolated")
    nft.apply(topology, region, nft.isolate_ruleset())
    return {"fault": "isolate_region", "id": entry.id, "namespace": topology.netns(region),
            "nft_table": nft.ISOLATE_TABLE}  # fmt: skip


def restore_region(topology: Topology, region: str) -> dict[str, Any]:
    """Undo `isolate_region`; idempotent."""
    _check(region, SITES)
    removed = nft.delete_table(topology, region, nft.ISOLATE_TABLE)
    _forget(topology, "isolate_region", {"region": region})
    return {"fault": "restore_region", "region": region, "removed": removed}


def kill_shop(topology: Topology, region: str) -> dict[str, Any]:
    """SIGKILL the region's shop (its whole process group)."""
    _check(region, REGIONS)
    entry = _record(topology, "kill_shop", {"region": region}, f"the {region} shop is killed")
    daemon = registry(topology).load()[f"shop-{region}"]
    kill_pids([daemon.pid])
    return {"fault": "kill_shop", "id": entry.id, "region": region, "pid": daemon.pid}


def start_shop(topology: Topology, region: str) -> dict[str, Any]:
    """Start the region's shop again if it is not running, and wait until it is ready."""
    _check(region, REGIONS)
    pid = _start_daemon(topology, f"shop-{region}", lambda: shops.ready(topology, region))
    _forget(topology, "kill_shop", {"region": region})
    return {"fault": "start_shop", "region": region, "pid": pid}


def _start_daemon(topology: Topology, name: str, ready: Callable[[], bool]) -> int:
    """Start a registered daemon again with its recorded command; no-op if it runs."""
    reg = registry(topology)
    previous = reg.load()[name]
    if is_alive(previous.pid, previous.starttime):
        return previous.pid
    proc, running = respawn(previous)
    reg.add(running)
    wait_until(name, ready, START_TIMEOUT, {name: (proc, previous.log_path)})
    return running.pid


UNDO: dict[str, Callable[..., dict[str, Any]]] = {
    "isolate_region": restore_region,
    "kill_shop": start_shop,
}


def heal_all(topology: Topology) -> list[dict[str, Any]]:
    """Undo every fault in the ledger; a no-op when it is empty."""
    undone = []
    for entry in ledger(topology).entries():
        undo = UNDO.get(entry.fault)
        if undo is None:
            raise SandboxError(f"ledger entry {entry.id} has unknown fault {entry.fault!r}")
        undone.append(undo(topology, **entry.params))
    return undone
