"""The `aws` target: the platform as its architecture record has it, on AWS and EKS.

The issue names `aftershock/targets/aws.py`; it is this package. `FAULTS`
and `UNDO` have the local target's shape (each function takes the
`Context` first). Faults on pods and network policies are the `k8s`
driver's, on the EKS clusters the same target file names; `crash_region`
is both: the region's pods killed and, when it held the Aurora global
writer, an unplanned global failover away from it. `UNSUPPORTED` says, per
logical fault, why AWS offers no way to do it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftershock.targets.aws import cache, database, event_observe, events, observe, sql_reads
from aftershock.targets.aws import region as isolation
from aftershock.targets.k8s import faults as pods
from aftershock.targets.remote import Context, find, forget, record, result

__all__ = ["FAULTS", "OBSERVE", "UNDO", "UNSUPPORTED"]


def crash_region(ctx: Context, region: str) -> dict[str, Any]:
    """A region lost: its pods SIGKILLed and, if it held the global writer, a lossy failover."""
    mark = len(ctx.log.calls)
    writer, _ = database.writer_cluster(ctx)
    has_pods = ctx.target.region(region).eks is not None
    entry = record(
        ctx,
        "crash_region",
        {"region": region},
        {"writer": writer, "pods": has_pods},
        f"{region} is crashed",
    )
    moved = database.fail_over_global(ctx, region)
    killed = pods.terminate_pods(ctx, region) if has_pods else {}
    return result(
        ctx, "crash_region", mark, id=entry.id, region=region, writer_moved_from=moved, pods=killed
    )


def recover_region(ctx: Context, region: str) -> dict[str, Any]:
    """Undo `crash_region`: pods ready again, the recorded writer writes again; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "crash_region", {"region": region})
    if entry is not None:
        if entry.params["touched"]["pods"]:
            pods.await_deployments(ctx, region)
        database.restore_writer(ctx, entry.params["touched"]["writer"])
        forget(ctx, entry)
    return result(ctx, "recover_region", mark, region=region, recovered=entry is not None)


FAULTS: dict[str, Callable[..., dict[str, Any]]] = {
    f.__name__: f
    for f in (
        isolation.isolate_region,
        isolation.restore_region,
        isolation.fail_health_check,
        isolation.restore_health_check,
        crash_region,
        recover_region,
        pods.partition_regions,
        pods.heal_partition,
        database.kill_db_leader,
        database.crash_db_leader,
        database.stop_db_node,
        database.start_db_node,
        database.switchover_db,
        database.switchback_db,
        cache.kill_cache,
        cache.start_cache,
        cache.fail_over_cache,
        cache.fail_back_cache,
        events.kill_broker,
        events.start_broker,
        events.cut_mirror_link,
        events.heal_mirror_link,
        pods.kill_shop,
        pods.start_shop,
    )
}
"""Every AWS fault and inverse by logical name."""

UNDO: dict[str, Callable[..., dict[str, Any]]] = {
    "isolate_region": isolation.restore_region,
    "crash_region": recover_region,
    "fail_health_check": isolation.restore_health_check,
    "partition_regions": pods.heal_partition,
    "kill_db_leader": database.start_db_node,
    "crash_db_leader": database.start_db_node,
    "stop_db_node": database.start_db_node,
    "switchover_db": database.switchback_db,
    "kill_cache": cache.start_cache,
    "fail_over_cache": cache.fail_back_cache,
    "kill_broker": events.start_broker,
    "cut_mirror_link": events.heal_mirror_link,
    "kill_shop": pods.start_shop,
}
"""The inverse of each fault, called with the parameters the ledger recorded."""

UNSUPPORTED: dict[str, str] = {
    **{
        name: "AWS has no API that limits bandwidth or adds latency between two regions"
        for name in ("throttle_link", "unthrottle_link", "delay_link", "undelay_link")
    },
    **{
        name: "Aurora Global Database replicates in its storage layer; no API pauses a "
        "secondary's replay"
        for name in ("pause_replication_replay", "resume_replication_replay")
    },
    **{
        name: "ElastiCache has no API that freezes a node's clients"
        for name in ("pause_cache", "unpause_cache")
    },
    **{
        name: "MSK has no API that freezes a broker's process; reboot it with kill_broker"
        for name in ("pause_broker", "resume_broker")
    },
    **{
        name: "the relay and the fulfilment consumer are the platform's own services, "
        "not modelled in the target file"
        for name in ("stall_consumer", "resume_consumer", "stop_relay", "start_relay")
    },
}
"""Logical faults with no AWS meaning, and why."""

OBSERVE: dict[str, Callable[..., dict[str, Any]]] = {
    "region_ready": observe.region_ready,
    "lag_seconds": lambda ctx, timeout=5.0: observe.replication_lag(ctx),
    "primaries": observe.primaries,
    "mirror_lag": event_observe.mirror_lag,
    "cache_lag": cache.cache_lag,
    "mirror_backlog": event_observe.mirror_backlog,
    "backlog_grows": event_observe.backlog_sample,
    "drain": event_observe.drain,
    "event_copies": event_observe.copies,
    "total_queue": event_observe.total_queue_reads,
    "cache_primary": cache.cache_primary,
    "leader_changed": observe.leader_changed,
    "integrity": sql_reads.integrity,
    "no_oversell": sql_reads.no_oversell,
}
"""The probes this target answers, by probe function name."""
