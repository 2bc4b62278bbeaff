"""Service faults on the sandbox: the shop instances."""

from __future__ import annotations

from typing import Any

from aftershock.config.topology import REGIONS, Topology
from aftershock.sandbox import shops
from aftershock.targets.local.common import check_choice, forget, kill_daemon, start_daemon


def kill_shop(topology: Topology, region: str) -> dict[str, Any]:
    """SIGKILL the region's shop (its whole process group)."""
    check_choice(region, REGIONS)
    return kill_daemon(topology, "kill_shop", region, f"shop-{region}")


def start_shop(topology: Topology, region: str) -> dict[str, Any]:
    """Start the region's shop if it is not running; wait until it is ready. Idempotent."""
    check_choice(region, REGIONS)
    pid = start_daemon(topology, f"shop-{region}", lambda: shops.ready(topology, region))
    forget(topology, "kill_shop", {"region": region})
    return {"fault": "start_shop", "region": region, "pid": pid}
