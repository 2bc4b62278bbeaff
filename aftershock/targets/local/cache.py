"""Cache faults on the sandbox: each region's Redis, and the global catalog cache."""

from __future__ import annotations

import time
from typing import Any

import redis

from aftershock.config.topology import CACHE_PRIMARY, REGIONS, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import cache, catalog_cache
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.state import load_credentials
from aftershock.targets.local.common import (
    START_TIMEOUT,
    check_choice,
    forget,
    kill_daemon,
    ledger,
    record,
    start_daemon,
)

MAX_PAUSE_MS = 600_000


def kill_cache(topology: Topology, region: str) -> dict[str, Any]:
    """SIGKILL the region's Redis (carts and cached catalog are lost, as in a real crash)."""
    check_choice(region, REGIONS)
    return kill_daemon(topology, "kill_cache", region, f"redis-{region}")


def start_cache(topology: Topology, region: str) -> dict[str, Any]:
    """Start the region's Redis if it is not running; wait for PING. Idempotent."""
    check_choice(region, REGIONS)
    creds = load_credentials(topology)
    pid = start_daemon(topology, f"redis-{region}", lambda: cache.healthy(topology, region, creds))
    forget(topology, "kill_cache", {"region": region})
    return {"fault": "start_cache", "region": region, "pid": pid}


def pause_cache(topology: Topology, region: str, ms: int) -> dict[str, Any]:
    """Freeze the region's Redis clients for `ms` milliseconds (CLIENT PAUSE ALL)."""
    check_choice(region, REGIONS)
    if not 1 <= int(ms) <= MAX_PAUSE_MS:
        raise SandboxError(f"ms must be between 1 and {MAX_PAUSE_MS}, not {ms}")
    entry = record(topology, "pause_cache", {"region": region}, f"the {region} cache is paused")
    with cache.client(topology, region, load_credentials(topology)) as conn:
        conn.execute_command("CLIENT", "PAUSE", int(ms), "ALL")
    return {"fault": "pause_cache", "id": entry.id, "region": region, "ms": int(ms),
            "until": time.time() + int(ms) / 1000}  # fmt: skip


def unpause_cache(topology: Topology, region: str) -> dict[str, Any]:
    """End a CLIENT PAUSE early; idempotent (also when Redis is down)."""
    check_choice(region, REGIONS)
    unpaused = False
    try:
        with cache.client(topology, region, load_credentials(topology)) as conn:
            unpaused = bool(conn.execute_command("CLIENT", "UNPAUSE"))
    except redis.RedisError:
        pass  # a Redis that is down is not paused either
    forget(topology, "pause_cache", {"region": region})
    return {"fault": "unpause_cache", "region": region, "unpaused": unpaused}


def fail_over_cache(topology: Topology, region: str) -> dict[str, Any]:
    """Promote `region`'s copy of the global catalog cache; the other copy follows it.

    What ElastiCache Global Datastore's `FailoverGlobalReplicationGroup`
    does: the secondary becomes the primary and the old primary replicates
    from it. Refused when `region` already holds the primary.
    """
    check_choice(region, REGIONS)
    creds = load_credentials(topology)
    before = catalog_cache.primary(topology, creds)
    if before is None:
        raise SandboxError("the catalog cache has no single primary now: heal it first")
    if before == region:
        raise SandboxError(
            f"the {region} catalog cache is the primary already: nothing to fail over"
        )
    entry = record(
        topology, "fail_over_cache", {"region": region}, "the catalog cache is failed over"
    )
    try:
        catalog_cache.make_primary(topology, region, creds)
    except SandboxError:
        # Put the old primary back; if even that fails the entry stays, for the heal.
        catalog_cache.make_primary(topology, before, creds)
        ledger(topology).forget(entry.id)
        raise
    return {"fault": "fail_over_cache", "id": entry.id, "region": region, "primary_was": before}


def fail_back_cache(topology: Topology, region: str) -> dict[str, Any]:
    """Undo `fail_over_cache`: the steady-state primary leads again, the other follows it."""
    check_choice(region, REGIONS)
    creds = load_credentials(topology)
    if catalog_cache.primary(topology, creds) != CACHE_PRIMARY:
        catalog_cache.make_primary(topology, CACHE_PRIMARY, creds)
    wait_until(
        "catalog replicas linked again",
        lambda: all(catalog_cache.healthy(topology, r, creds) for r in REGIONS),
        START_TIMEOUT,
    )
    forget(topology, "fail_over_cache", {"region": region})
    return {"fault": "fail_back_cache", "region": region, "primary": CACHE_PRIMARY}
