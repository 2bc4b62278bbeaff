"""Database faults on AWS: the Aurora Global Database and its regional clusters.

- `kill_db_leader`: `rds.failover_db_cluster` on the global writer's cluster
  (a reader in the same region takes over);
- `stop_db_node(region)`: `rds.reboot_db_instance` of the region cluster's
  writer, `ForceFailover` from the target file (chaostoolkit-aws);
- `switchover_db(to)`: `rds.switchover_global_cluster`, a planned, lossless
  move of the global writer;
- `crash_region` (its database part): `rds.failover_global_cluster` with
  `AllowDataLoss`, the unplanned failover a lost region forces.

Each undo puts back what the ledger recorded: the writer instance of the
cluster, the global writer cluster.
"""

from __future__ import annotations

from typing import Any

from aftershock.errors import SandboxError
from aftershock.targets.remote import Context, act_or_forget, find, forget, record, result

CHANGE_TIMEOUT = 1800.0  # seconds: a global switchover takes minutes; a region rejoining, more
POLL = 10.0


def global_cluster(ctx: Context) -> dict[str, Any]:
    """The global database as `describe_global_clusters` describes it now."""
    home = ctx.target.regions[ctx.target.primary_region].aws_region
    found = ctx.aws.call(
        "rds",
        home,
        "describe_global_clusters",
        {"GlobalClusterIdentifier": ctx.target.global_cluster_id},
    )
    clusters = found.get("GlobalClusters", [])
    if not clusters:
        raise SandboxError(f"global cluster {ctx.target.global_cluster_id} not found")
    return dict(clusters[0])


def writer_cluster(ctx: Context) -> tuple[str, dict[str, Any]]:
    """The ARN of the global database's writer cluster, and the global cluster as described."""
    cluster = global_cluster(ctx)
    writers = [
        m["DBClusterArn"] for m in cluster.get("GlobalClusterMembers", []) if m.get("IsWriter")
    ]
    if len(writers) != 1:
        raise SandboxError(
            f"global cluster {ctx.target.global_cluster_id} has "
            f"{len(writers)} writers; expected exactly one"
        )
    return writers[0], cluster


def _writer_region(ctx: Context, arn: str) -> str:
    region = ctx.target.region_of_cluster(arn)
    if region is None:
        raise SandboxError(f"the global writer {arn} is not a cluster the target file names")
    return region


def describe_cluster(ctx: Context, region: str) -> dict[str, Any]:
    """`region`'s Aurora cluster as `describe_db_clusters` describes it now."""
    where = ctx.target.region(region)
    found = ctx.aws.call(
        "rds",
        where.aws_region,
        "describe_db_clusters",
        {"DBClusterIdentifier": where.aurora_cluster_id},
    )
    clusters = found.get("DBClusters", [])
    if not clusters:
        raise SandboxError(f"cluster {where.aurora_cluster_id} not found in {where.aws_region}")
    return dict(clusters[0])


def cluster_writer(ctx: Context, region: str) -> str:
    """The writer instance of `region`'s Aurora cluster."""
    where = ctx.target.region(region)
    members = describe_cluster(ctx, region).get("DBClusterMembers", [])
    writer = next((m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")), None)
    if writer is None:
        raise SandboxError(f"cluster {where.aurora_cluster_id} has no writer instance now")
    return writer


def kill_db_leader(ctx: Context, fault: str = "kill_db_leader") -> dict[str, Any]:
    """Fail the global writer's cluster over to one of its readers (same region).

    On Aurora a writer instance lost is this failover: a reader is promoted.
    `crash_db_leader` is the same request under its own name in the ledger.
    """
    mark = len(ctx.log.calls)
    region = _writer_region(ctx, writer_cluster(ctx)[0])
    where = ctx.target.region(region)
    writer = cluster_writer(ctx, region)
    entry = record(
        ctx,
        fault,
        {"region": region},
        {"cluster": where.aurora_cluster_id, "writer_instance": writer},
        f"the {region} writer is failed over",
    )
    # boto3, not chaosaws.rds.actions.failover_db_cluster: that function always
    # sends TargetDBInstanceIdentifier, None when not given, and botocore's
    # parameter validation rejects None for a string (rds/actions.py:33-36).
    act_or_forget(
        ctx,
        entry,
        lambda: ctx.aws.call(
            "rds",
            where.aws_region,
            "failover_db_cluster",
            {"DBClusterIdentifier": where.aurora_cluster_id},
            mutating=True,
        ),
    )
    return result(ctx, fault, mark, id=entry.id, region=region, writer_was=writer)


def crash_db_leader(ctx: Context) -> dict[str, Any]:
    """The writer instance lost: Aurora promotes a reader (`failover_db_cluster`)."""
    return kill_db_leader(ctx, "crash_db_leader")


def stop_db_node(ctx: Context, region: str) -> dict[str, Any]:
    """Reboot the writer instance of `region`'s cluster, with failover when the file says so."""
    mark = len(ctx.log.calls)
    where = ctx.target.region(region)
    writer = cluster_writer(ctx, region)
    entry = record(
        ctx,
        "stop_db_node",
        {"region": region},
        {"cluster": where.aurora_cluster_id, "instance": writer},
        f"the {region} writer is rebooting",
    )
    force = ctx.target.reboot_force_failover
    act_or_forget(
        ctx,
        entry,
        lambda: ctx.aws.call(
            "rds",
            where.aws_region,
            "reboot_db_instance",
            {"DBInstanceIdentifier": writer, "ForceFailover": force},
            mutating=True,
            via=(
                "chaosaws.rds.actions.reboot_db_instance",
                {"db_instance_identifier": writer, "force_failover": force},
            ),
        ),
    )
    return result(ctx, "stop_db_node", mark, id=entry.id, region=region, instance=writer)


def start_db_node(ctx: Context, region: str) -> dict[str, Any]:
    """Undo `kill_db_leader` / `stop_db_node` in `region`: its old writer leads again."""
    mark = len(ctx.log.calls)
    where = ctx.target.region(region)
    rebooted = find(ctx, "stop_db_node", {"region": region})
    if rebooted is not None:
        instance = rebooted.params["touched"]["instance"]
        ctx.wait(
            f"{instance} is available",
            lambda: _instance_available(ctx, region, instance),
            CHANGE_TIMEOUT,
            POLL,
        )
        forget(ctx, rebooted)
    failed = find(ctx, "kill_db_leader", {"region": region}) or find(
        ctx, "crash_db_leader", {"region": region}
    )
    if failed is not None:
        original = failed.params["touched"]["writer_instance"]
        ctx.wait(
            f"{where.aurora_cluster_id} is available",
            lambda: _cluster_status(ctx, region) == "available",
            CHANGE_TIMEOUT,
            POLL,
        )
        if cluster_writer(ctx, region) != original:
            ctx.aws.call(
                "rds",
                where.aws_region,
                "failover_db_cluster",
                {
                    "DBClusterIdentifier": where.aurora_cluster_id,
                    "TargetDBInstanceIdentifier": original,
                },
                mutating=True,
            )
            ctx.wait(
                f"{original} writes again",
                lambda: cluster_writer(ctx, region) == original,
                CHANGE_TIMEOUT,
                POLL,
            )
        forget(ctx, failed)
    return result(
        ctx,
        "start_db_node",
        mark,
        region=region,
        undone=[e.fault for e in (rebooted, failed) if e is not None],
    )


def switchover_db(ctx: Context, to_region: str) -> dict[str, Any]:
    """Planned, lossless move of the global writer to `to_region`; returns once it writes."""
    mark = len(ctx.log.calls)
    target = ctx.target.region(to_region).aurora_cluster_arn
    writer, _ = writer_cluster(ctx)
    if writer == target:
        raise SandboxError(f"{to_region} already holds the global writer; nothing to switch over")
    from_region = _writer_region(ctx, writer)
    entry = record(
        ctx,
        "switchover_db",
        {"from_region": from_region, "to_region": to_region},
        {"writer": writer},
        f"a switchover to {to_region} is recorded",
    )
    act_or_forget(ctx, entry, lambda: _move_writer(ctx, "switchover_global_cluster", target))
    _await_writer(ctx, target)
    return result(ctx, "switchover_db", mark, id=entry.id, **{"from": from_region, "to": to_region})


def switchback_db(ctx: Context, from_region: str, to_region: str) -> dict[str, Any]:
    """Undo `switchover_db`: the recorded writer cluster writes again; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "switchover_db", {"from_region": from_region, "to_region": to_region})
    original = (
        entry.params["touched"]["writer"]
        if entry is not None
        else ctx.target.region(from_region).aurora_cluster_arn
    )
    restore_writer(ctx, original)
    forget(ctx, entry)
    return result(ctx, "switchback_db", mark, leader=from_region)


def fail_over_global(ctx: Context, away_from: str) -> str | None:
    """The database part of a lost region: move the writer away from it, accepting data loss.

    Returns the writer cluster's ARN before, or None when `away_from` did not hold it.
    """
    writer, _ = writer_cluster(ctx)
    if writer != ctx.target.region(away_from).aurora_cluster_arn:
        return None
    survivor = next(r for r in ctx.target.regions.values() if r.name != away_from)
    _move_writer(ctx, "failover_global_cluster", survivor.aurora_cluster_arn, allow_data_loss=True)
    return writer


def restore_writer(ctx: Context, original: str) -> None:
    """Switch the global writer back to `original` once every member is available again."""
    writer, _ = writer_cluster(ctx)
    if writer == original:
        return
    ctx.wait(
        f"global cluster {ctx.target.global_cluster_id} is available with every member",
        lambda: _global_available(ctx),
        CHANGE_TIMEOUT,
        POLL,
    )
    _move_writer(ctx, "switchover_global_cluster", original)
    _await_writer(ctx, original)


def _move_writer(
    ctx: Context, operation: str, target_arn: str, allow_data_loss: bool = False
) -> dict[str, Any]:
    # chaostoolkit-aws has no Aurora Global Database failover or switchover: boto3.
    params: dict[str, Any] = {
        "GlobalClusterIdentifier": ctx.target.global_cluster_id,
        "TargetDbClusterIdentifier": target_arn,
    }
    if allow_data_loss:
        params["AllowDataLoss"] = True
    # Sent to the region of the cluster being promoted: in a real outage the
    # old writer's region may not answer at all.
    promoted = ctx.target.region(_writer_region(ctx, target_arn)).aws_region
    return ctx.aws.call("rds", promoted, operation, params, mutating=True)


def _await_writer(ctx: Context, target_arn: str) -> None:
    ctx.wait(
        f"{target_arn} is the global writer",
        lambda: writer_cluster(ctx)[0] == target_arn,
        CHANGE_TIMEOUT,
        POLL,
    )


def _global_available(ctx: Context) -> bool:
    _, cluster = writer_cluster(ctx)
    members = {m["DBClusterArn"] for m in cluster.get("GlobalClusterMembers", [])}
    wanted = {r.aurora_cluster_arn for r in ctx.target.regions.values()}
    return cluster.get("Status") == "available" and wanted <= members


def _cluster_status(ctx: Context, region: str) -> str:
    return str(describe_cluster(ctx, region).get("Status"))


def _instance_available(ctx: Context, region: str, instance: str) -> bool:
    where = ctx.target.region(region)
    found = ctx.aws.call(
        "rds", where.aws_region, "describe_db_instances", {"DBInstanceIdentifier": instance}
    )
    return found["DBInstances"][0].get("DBInstanceStatus") == "available"
