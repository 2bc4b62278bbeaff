"""The global catalog cache: one Redis per region, tokyo's a replica of taiwan's.

The stand-in for ElastiCache Global Datastore: the primary region's copy
takes writes, the secondary's replicates it and is read-only until it is
promoted (`fail_over_cache`). Carts stay in each region's own Redis
(`aftershock.sandbox.cache`), as ADR-037 keeps them regional.
"""

from __future__ import annotations

from typing import Any

import redis

from aftershock.config.topology import CACHE_PRIMARY, CATALOG_PORT, REGIONS, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import cache
from aftershock.sandbox.cache import redis_daemon
from aftershock.sandbox.credentials import Credentials
from aftershock.sandbox.processes import DaemonSpec


def config_text(topology: Topology, region: str, creds: Credentials) -> str:
    """The region's catalog Redis: bound to its address, a replica unless it is the primary."""
    lines = [
        f"bind {topology.address(region)}",
        f"port {CATALOG_PORT}",
        "protected-mode yes",
        f"requirepass {creds.redis}",
        f"masterauth {creds.redis}",
        "replica-read-only yes",
        "daemonize no",
        'logfile ""',
        f"dir {topology.site_dir(region) / 'catalog'}",
        'save ""',
        "appendonly no",
        "maxmemory 128mb",
        # A cache: evicting the least recently used entry is the right answer to a full one.
        "maxmemory-policy allkeys-lru",
        # Replicas start from a diskless full sync: nothing of the cache touches disk.
        "repl-diskless-sync yes",
        "repl-diskless-sync-delay 0",
    ]
    if region != CACHE_PRIMARY:
        lines.append(f"replicaof {topology.address(CACHE_PRIMARY)} {CATALOG_PORT}")
    return "\n".join(lines) + "\n"


def spec(topology: Topology, region: str, creds: Credentials) -> DaemonSpec:
    """Write the region's catalog cache config (readable only by redis); describe its daemon."""
    return redis_daemon(topology, region, "catalog", config_text(topology, region, creds))


def client(
    topology: Topology, region: str, creds: Credentials, timeout: float = 1.0
) -> redis.Redis:
    """A client for the region's copy of the catalog cache."""
    return cache.client(topology, region, creds, timeout, port=CATALOG_PORT)


def replication(topology: Topology, region: str, creds: Credentials) -> dict[str, Any] | None:
    """`INFO replication` of the region's copy; None when it does not answer."""
    try:
        with client(topology, region, creds) as conn:
            return dict(conn.info("replication"))
    except redis.RedisError:
        return None


def primary(topology: Topology, creds: Credentials) -> str | None:
    """The region whose copy is a primary now (None: none answers as one, or both do)."""
    masters = [
        region
        for region in REGIONS
        if (replication(topology, region, creds) or {}).get("role") == "master"
    ]
    return masters[0] if len(masters) == 1 else None


def healthy(topology: Topology, region: str, creds: Credentials) -> bool:
    """True when the copy answers; a replica must also be linked to its primary."""
    info = replication(topology, region, creds)
    if info is None:
        return False
    return info.get("role") == "master" or info.get("master_link_status") == "up"


def make_primary(topology: Topology, region: str, creds: Credentials) -> None:
    """Promote `region`'s copy and make every other copy replicate from it.

    A copy that does not answer raises `SandboxError` naming it: a fault's
    undo must fail the way `heal_all` collects, not with a client error
    that ends the heal before the other faults had their turn.
    """
    for target in [region] + [r for r in REGIONS if r != region]:
        command = ["NO", "ONE"] if target == region else [topology.address(region), CATALOG_PORT]
        try:
            with client(topology, target, creds) as conn:
                conn.execute_command("REPLICAOF", *command)
        except redis.RedisError as exc:
            raise SandboxError(f"the {target} catalog cache does not answer: {exc}") from exc
