"""Service faults on the sandbox: the shop instances."""

from __future__ import annotations

from typing import Any

from aftershock.sandbox import shops
from aftershock.sandbox.processes import kill_pids
from aftershock.sandbox.topology import REGIONS, Topology
from aftershock.targets.local.common import check_choice, daemon_pid, forget, record, start_daemon


def kill_shop(topology: Topology, region: str) -> dict[str, Any]:
    """SIGKILL the region's shop (its whole process group)."""
    check_choice(region, REGIONS)
    entry = record(topology, "kill_shop", {"region": region}, f"the {region} shop is killed")
    pid = daemon_pid(topology, f"shop-{region}")
    if pid:
        kill_pids([pid])
    return {"fault": "kill_shop", "id": entry.id, "region": region, "killed_pid": pid}


def start_shop(topology: Topology, region: str) -> dict[str, Any]:
    """Start the region's shop if it is not running; wait until it is ready. Idempotent."""
    check_choice(region, REGIONS)
    pid = start_daemon(topology, f"shop-{region}", lambda: shops.ready(topology, region))
    forget(topology, "kill_shop", {"region": region})
    return {"fault": "start_shop", "region": region, "pid": pid}
