"""Dispatch to the configured target's driver: faults, the probes' sandbox, the fault ledger.

The configuration names the target (`aftershock.config.target`); this
module hands each call to the driver that serves it: the local sandbox's
(`aftershock.targets.local`) or a remote one's (`aftershock.targets.drivers`).
"""

from __future__ import annotations

from typing import Any

from aftershock.config.target import FaultNotSupported, sandbox, target_name
from aftershock.config.topology import Topology
from aftershock.targets.ledger import Ledger


def run(fault: str, configuration: dict[str, Any] | None, **params: Any) -> dict[str, Any]:
    """Carry out `fault` on the configured target and return what it touched.

    When `fault` is the undo of faults the ledger holds (`restore_region`
    for `isolate_region taiwan`), the journal first says their undo begins.
    """
    target = target_name(configuration)
    if target != "local":
        from aftershock.targets.drivers import driver, run_fault
        from aftershock.targets.remote import call_params

        undo = {f: u.__name__ for f, u in driver(target).UNDO.items()}
        book = fault_ledger(configuration)
        for entry in book.entries():
            if undo.get(entry.fault) == fault and call_params(entry) == params:
                book.undoing(entry)
        return run_fault(target, fault, configuration, **params)
    from aftershock.targets.local import FAULTS, UNDO
    from aftershock.targets.local.topologies import refuse

    refuse(sandbox(configuration), fault)
    book = fault_ledger(configuration)
    for entry in book.entries():
        if entry.fault in UNDO and UNDO[entry.fault].__name__ == fault and entry.params == params:
            book.undoing(entry)
    return FAULTS[fault](sandbox(configuration), **params)


def local_sandbox(probe: str, configuration: dict[str, Any] | None) -> Topology:
    """The sandbox a probe observes; refuses other targets, saying why."""
    target = target_name(configuration)
    if target != "local":
        from aftershock.targets.drivers import probe_refusal

        raise FaultNotSupported(probe_refusal(target, probe))
    from aftershock.targets.local.topologies import refuse

    topology = sandbox(configuration)
    refuse(topology, probe)
    return topology


def fault_ledger(configuration: dict[str, Any] | None) -> Ledger:
    """The ledger the configured target records its faults in (and the journal beside it)."""
    target = target_name(configuration)
    if target == "local":
        from aftershock.targets.local.common import ledger

        return ledger(sandbox(configuration))
    from aftershock.targets.drivers import ledger_path

    return Ledger(ledger_path(configuration, target))
