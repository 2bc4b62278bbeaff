"""The local sandbox as a fault target.

Every fault records itself in the sandbox's ledger before it acts and is
forgotten only after its inverse succeeded; `heal_all` undoes what the
ledger holds, newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.targets.local import (
    cache,
    database,
    events,
    health_check,
    network,
    region,
    service,
)
from aftershock.targets.local.common import FaultConflict, FaultUnavailable, ledger

__all__ = [
    "FAULTS",
    "UNDO",
    "FaultConflict",
    "FaultUnavailable",
    "HealIncomplete",
    "heal_all",
    "ledger",
]


class HealIncomplete(SandboxError):
    """Some recorded faults could not be undone; they stay in the ledger."""


FAULTS: dict[str, Callable[..., dict[str, Any]]] = {
    f.__name__: f
    for f in (
        region.isolate_region, region.restore_region,
        region.crash_region, region.recover_region,
        health_check.fail_health_check, health_check.restore_health_check,
        network.partition_regions, network.heal_partition,
        network.throttle_link, network.unthrottle_link,
        network.delay_link, network.undelay_link,
        database.kill_db_leader, database.crash_db_leader,
        database.stop_db_node, database.start_db_node,
        database.switchover_db, database.switchback_db,
        database.pause_replication_replay, database.resume_replication_replay,
        cache.kill_cache, cache.start_cache, cache.pause_cache, cache.unpause_cache,
        cache.fail_over_cache, cache.fail_back_cache,
        service.kill_shop, service.start_shop,
        events.kill_broker, events.start_broker, events.pause_broker, events.resume_broker,
        events.cut_mirror_link, events.heal_mirror_link,
        events.stall_consumer, events.resume_consumer, events.stop_relay, events.start_relay,
    )
}  # fmt: skip
"""Every local fault and inverse by name; each takes the topology first."""

UNDO: dict[str, Callable[..., dict[str, Any]]] = {
    "isolate_region": region.restore_region,
    "crash_region": region.recover_region,
    "fail_health_check": health_check.restore_health_check,
    "partition_regions": network.heal_partition,
    "throttle_link": network.unthrottle_link,
    "delay_link": network.undelay_link,
    "kill_db_leader": database.start_db_node,
    "crash_db_leader": database.start_db_node,
    "stop_db_node": database.start_db_node,
    "switchover_db": database.switchback_db,
    "pause_replication_replay": database.resume_replication_replay,
    "kill_cache": cache.start_cache,
    "pause_cache": cache.unpause_cache,
    "fail_over_cache": cache.fail_back_cache,
    "kill_shop": service.start_shop,
    "kill_broker": events.start_broker,
    "pause_broker": events.resume_broker,
    "cut_mirror_link": events.heal_mirror_link,
    "stall_consumer": events.resume_consumer,
    "stop_relay": events.start_relay,
}
"""The inverse of each fault, called with the parameters the ledger recorded."""


def heal_all(topology: Topology) -> list[dict[str, Any]]:
    """Undo every fault in the ledger, newest first; a no-op when it is empty.

    An undo that fails does not stop the others: every entry gets its try,
    then the failures are raised together. Each entry leaves the ledger only
    when its undo succeeded, so a heal can simply be run again.
    """
    undone: list[dict[str, Any]] = []
    failures: list[str] = []
    book = ledger(topology)
    for entry in reversed(book.entries()):
        undo = UNDO.get(entry.fault)
        try:
            if undo is None:
                raise SandboxError(f"unknown fault {entry.fault!r}")
            book.undoing(entry)
            undone.append(undo(topology, **entry.params))
        except SandboxError as exc:
            failures.append(f"{entry.fault} {entry.params} ({entry.id}): {exc}")
    if failures:
        raise HealIncomplete(
            f"{len(failures)} fault(s) not healed, {len(undone)} healed: " + "; ".join(failures)
        )
    return undone
