"""The `k8s` target: faults on the platform's EKS clusters only (pods, Deployments, policies).

The issue names `aftershock/targets/k8s.py`; it is this package. `FAULTS`
and `UNDO` have the local target's shape (each function takes the
`Context` first); `UNSUPPORTED` says, per logical fault, why Kubernetes
alone cannot do it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftershock.targets.k8s import faults
from aftershock.targets.remote import Context, endpoint_readiness

__all__ = ["FAULTS", "OBSERVE", "UNDO", "UNSUPPORTED"]

FAULTS: dict[str, Callable[..., dict[str, Any]]] = {
    f.__name__: f
    for f in (
        faults.isolate_region,
        faults.restore_region,
        faults.crash_region,
        faults.recover_region,
        faults.partition_regions,
        faults.heal_partition,
        faults.kill_shop,
        faults.start_shop,
    )
}
"""Every Kubernetes fault and inverse by logical name."""

UNDO: dict[str, Callable[..., dict[str, Any]]] = {
    "isolate_region": faults.restore_region,
    "crash_region": faults.recover_region,
    "partition_regions": faults.heal_partition,
    "kill_shop": faults.start_shop,
}
"""The inverse of each fault, called with the parameters the ledger recorded."""

_DATABASE = "the database is Aurora, outside the clusters: use --target aws"
UNSUPPORTED: dict[str, str] = {
    **{
        name: _DATABASE
        for name in (
            "kill_db_leader",
            "crash_db_leader",
            "stop_db_node",
            "start_db_node",
            "switchover_db",
            "switchback_db",
            "pause_replication_replay",
            "resume_replication_replay",
        )
    },
    **{
        name: "the cache is ElastiCache, outside the clusters: use --target aws"
        for name in (
            "kill_cache",
            "start_cache",
            "pause_cache",
            "unpause_cache",
            "fail_over_cache",
            "fail_back_cache",
        )
    },
    **{
        name: "Kubernetes has no bandwidth or latency control between clusters"
        for name in ("throttle_link", "unthrottle_link", "delay_link", "undelay_link")
    },
    **{
        name: "the brokers are MSK, outside the clusters: use --target aws"
        for name in ("kill_broker", "start_broker", "pause_broker", "resume_broker")
    },
    **{
        name: "MirrorMaker 2 is driven through the aws target: use --target aws"
        for name in ("cut_mirror_link", "heal_mirror_link")
    },
    **{
        name: "a region's health check is Route 53's, outside the clusters: use --target aws"
        for name in ("fail_health_check", "restore_health_check")
    },
    **{
        name: "the relay and the fulfilment consumer are not modelled in the target file"
        for name in ("stall_consumer", "resume_consumer", "stop_relay", "start_relay")
    },
}
"""Logical faults with no Kubernetes meaning, and why."""


def region_ready(ctx: Context, region: str) -> dict[str, Any]:
    """The region's endpoint answers its readiness check and its shop Deployment is ready."""
    eks = faults.eks_of(ctx, region)
    where = ctx.target.region(region)
    found = ctx.kube.call(
        eks.context,
        "AppsV1Api.read_namespaced_deployment",
        {"name": eks.shop_deployment, "namespace": eks.namespaces[0]},
    )
    wanted, ready = found.spec.replicas, found.status.ready_replicas
    deployed = isinstance(wanted, int) and (ready or 0) >= wanted > 0
    answer = endpoint_readiness(ctx, eks.context, where.endpoint)
    shop = {"status": answer[0], "body": answer[1]} if answer else {"status": None}
    return {
        "region": region,
        "ready": bool(answer and answer[0] == 200 and deployed),
        "shop": shop,
        "edge": "UP" if deployed else "DOWN",
        "deployment": {"replicas": wanted, "ready": ready},
    }


OBSERVE: dict[str, Callable[..., dict[str, Any]]] = {
    "region_ready": region_ready,
}
"""The probes this target answers, by probe function name; the final reads over SQL are
shared with the aws target (`drivers.observation`)."""
