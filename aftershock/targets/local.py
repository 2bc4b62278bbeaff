"""The local sandbox as a fault target.

Every fault records itself in the sandbox's ledger before it acts and is
forgotten only after its inverse succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftershock.faults.ledger import Entry, Ledger
from aftershock.sandbox import nft
from aftershock.sandbox.errors import SandboxError
from aftershock.sandbox.topology import SITES, Topology


class FaultConflict(SandboxError):
    """The same fault is already injected."""


def ledger(topology: Topology) -> Ledger:
    return Ledger(topology.state_dir / "faults.json")


def _check_site(site: str) -> None:
    if site not in SITES:
        raise SandboxError(f"unknown region {site!r}: choose one of {', '.join(SITES)}")


def isolate_region(topology: Topology, region: str) -> dict[str, Any]:
    """Blackhole everything in and out of `region`'s namespace."""
    _check_site(region)
    params = {"region": region}
    book = ledger(topology)
    if book.find("isolate_region", params):
        raise FaultConflict(f"{region} is already isolated; run `aftershock sandbox heal` first")
    entry = book.record(Entry("isolate_region", params))
    nft.apply(topology, region, nft.isolate_ruleset())
    return {
        "fault": "isolate_region",
        "id": entry.id,
        "namespace": topology.netns(region),
        "nft_table": nft.ISOLATE_TABLE,
    }


def restore_region(topology: Topology, region: str) -> dict[str, Any]:
    """Undo `isolate_region`; idempotent."""
    _check_site(region)
    removed = nft.delete_table(topology, region, nft.ISOLATE_TABLE)
    book = ledger(topology)
    entry = book.find("isolate_region", {"region": region})
    if entry:
        book.forget(entry.id)
    return {"fault": "restore_region", "region": region, "removed": removed}


UNDO: dict[str, Callable[..., dict[str, Any]]] = {"isolate_region": restore_region}


def heal_all(topology: Topology) -> list[dict[str, Any]]:
    """Undo every fault in the ledger; a no-op when it is empty."""
    undone = []
    for entry in ledger(topology).entries():
        undo = UNDO.get(entry.fault)
        if undo is None:
            raise SandboxError(f"ledger entry {entry.id} has unknown fault {entry.fault!r}")
        undone.append(undo(topology, **entry.params))
    return undone
