"""Global catalog cache breakages: a copy cut loose from its primary, one that cannot follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis

from aftershock.config.topology import CATALOG_PORT, REGIONS, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import catalog_cache, nft
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.state import load_credentials
from aftershock.targets.local.common import daemon_pid


def replica_detached(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s catalog copy stops replicating (`REPLICAOF NO ONE`) and keeps serving reads.

    Its shop goes on reading it: every catalog change made since is never
    seen there, and two copies now call themselves the primary.
    """
    region = params.get("region", "tokyo")
    creds = load_credentials(topology)
    info = catalog_cache.replication(topology, region, creds) or {}
    if info.get("role") != "slave":
        raise SandboxError(f"the {region} catalog copy is not a replica: nothing to detach")
    primary = next(r for r in REGIONS if topology.address(r) == info.get("master_host"))
    with catalog_cache.client(topology, region, creds) as conn:
        conn.execute_command("REPLICAOF", "NO", "ONE")
    return {"region": region, "primary": primary}


def undo_replica_detached(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    region = touched.get("region") or params.get("region", "tokyo")
    primary = touched.get("primary") or next(r for r in REGIONS if r != region)
    creds = load_credentials(topology)
    with catalog_cache.client(topology, region, creds) as conn:
        conn.execute_command("REPLICAOF", topology.address(primary), CATALOG_PORT)
    wait_until(
        f"the {region} catalog copy linked to {primary}",
        lambda: catalog_cache.healthy(topology, region, creds),
        15,
    )


def follow_refused(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s catalog copy holds a wrong replication password: it cannot follow a new primary.

    Nothing shows while it leads; after a cache failover makes it a
    replica, it never syncs, and its region's shop reads a copy that stops.
    """
    region = params.get("region", "taiwan")
    with catalog_cache.client(topology, region, load_credentials(topology)) as conn:
        conn.config_set("masterauth", "aftershock-wrong-password")
    return {"region": region}


def undo_follow_refused(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    region = params.get("region", "taiwan")
    creds = load_credentials(topology)
    try:
        with catalog_cache.client(topology, region, creds) as conn:
            conn.config_set("masterauth", creds.redis)
    except redis.RedisError as exc:
        raise SandboxError(
            f"the {region} catalog copy did not take its password back: {exc}"
        ) from exc


CUT_TABLE = "aftershock_breakage_shop_cache"


def shop_cut_off(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s shop cannot reach the other region's catalog copy (its own sockets only).

    Everything else still reaches it: once a cache failover makes that copy
    the primary, this shop can no longer write the catalog anywhere.
    """
    region = params.get("region", "taiwan")
    shop = daemon_pid(topology, f"shop-{region}")
    if shop is None:
        raise SandboxError(f"shop-{region} is not running")
    uid = _uid_of(shop)
    other = topology.address(next(r for r in REGIONS if r != region))
    nft.apply(
        topology,
        region,
        f"""table inet {CUT_TABLE} {{
    chain output {{
        type filter hook output priority -100; policy accept;
        meta skuid {uid} ip daddr {other} tcp dport {CATALOG_PORT} drop
    }}
}}
""",
    )
    return {"region": region, "uid": uid}


def undo_shop_cut_off(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    nft.delete_table(topology, params.get("region", "taiwan"), CUT_TABLE)


def _uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))
