"""Region faults on the sandbox: a region cut off, or every process in it killed."""

from __future__ import annotations

from typing import Any

from aftershock.config.topology import SITES, Topology
from aftershock.sandbox import brokers, cache, catalog_cache, etcd, eventing, nft, postgres, shops
from aftershock.sandbox.endpoints import node_answers
from aftershock.sandbox.network import namespace_pids
from aftershock.sandbox.processes import kill_pids
from aftershock.sandbox.state import load_credentials, registry
from aftershock.targets.local.common import check_choice, forget, record, start_daemon


def isolate_region(topology: Topology, region: str) -> dict[str, Any]:
    """Blackhole everything in and out of `region`'s namespace (loopback excepted)."""
    check_choice(region, SITES)
    entry = record(topology, "isolate_region", {"region": region}, f"{region} is isolated")
    nft.apply(topology, region, nft.isolate_ruleset())
    return {"fault": "isolate_region", "id": entry.id, "namespace": topology.netns(region),
            "nft_table": nft.ISOLATE_TABLE}  # fmt: skip


def restore_region(topology: Topology, region: str) -> dict[str, Any]:
    """Undo `isolate_region`; idempotent."""
    check_choice(region, SITES)
    removed = nft.delete_table(topology, region, nft.ISOLATE_TABLE)
    forget(topology, "isolate_region", {"region": region})
    return {"fault": "restore_region", "region": region, "removed": removed}


def crash_region(topology: Topology, region: str) -> dict[str, Any]:
    """SIGKILL every process in `region`'s namespace, as a power loss would."""
    check_choice(region, SITES)
    entry = record(topology, "crash_region", {"region": region}, f"{region} is crashed")
    pids = namespace_pids(topology.netns(region))
    kill_pids(pids)
    return {"fault": "crash_region", "id": entry.id, "region": region, "killed": len(pids)}


def recover_region(topology: Topology, region: str) -> dict[str, Any]:
    """Start every daemon of `region` that is not running, in dependency order. Idempotent."""
    check_choice(region, SITES)
    creds = load_credentials(topology)
    ready = {
        f"etcd-{region}": lambda: etcd.healthy(topology, region),
        f"redis-{region}": lambda: cache.healthy(topology, region, creds),
        f"catalog-{region}": lambda: catalog_cache.healthy(topology, region, creds),
        f"broker-{region}": lambda: brokers.healthy(topology, region),
        f"patroni-{region}": lambda: postgres.role_check(topology, region, "health"),
        # multi-writer: the region's own primary (crash recovery, then it answers).
        f"postgres-{region}": lambda: node_answers(topology, region, creds),
        f"shop-{region}": lambda: shops.ready(topology, region),
        f"relay-{region}": lambda: eventing.connected(topology, region, "relay"),
        f"fulfil-{region}": lambda: eventing.consuming(topology, region),
    }
    registered = registry(topology).load()
    started = {
        name: start_daemon(topology, name, check)
        for name, check in ready.items()
        if name in registered
    }
    forget(topology, "crash_region", {"region": region})
    return {"fault": "recover_region", "region": region, "daemons": started}
