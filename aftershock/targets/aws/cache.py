"""Cache faults on AWS: each region's ElastiCache replication group.

`kill_cache(region)` is ElastiCache's own failover test
(`elasticache.test_failover`, through chaostoolkit-aws): the primary node
of the region's shard goes away and a replica is promoted. `start_cache`
waits for the group to be available again and, when the ledger's primary
is no longer the primary, promotes it back (`modify_replication_group`
with `PrimaryClusterId`, applied immediately).
"""

from __future__ import annotations

from typing import Any

from aftershock.errors import SandboxError
from aftershock.targets.remote import Context, act_or_forget, find, forget, record, result

AVAILABLE_TIMEOUT = 1800.0
POLL = 10.0


def _group(ctx: Context, region: str) -> dict[str, Any]:
    where = ctx.target.region(region)
    found = ctx.aws.call(
        "elasticache",
        where.aws_region,
        "describe_replication_groups",
        {"ReplicationGroupId": where.cache_replication_group},
    )
    return found["ReplicationGroups"][0]


def _primary(ctx: Context, region: str) -> str:
    where = ctx.target.region(region)
    for group in _group(ctx, region).get("NodeGroups", []):
        if group.get("NodeGroupId") == where.cache_node_group:
            for member in group.get("NodeGroupMembers", []):
                if member.get("CurrentRole") == "primary":
                    return str(member["CacheClusterId"])
    raise SandboxError(
        f"{where.cache_replication_group} shard {where.cache_node_group} has no primary now"
    )


def kill_cache(ctx: Context, region: str) -> dict[str, Any]:
    """Fail the primary of `region`'s cache shard over to a replica."""
    mark = len(ctx.log.calls)
    where = ctx.target.region(region)
    primary = _primary(ctx, region)
    entry = record(
        ctx,
        "kill_cache",
        {"region": region},
        {
            "replication_group": where.cache_replication_group,
            "node_group": where.cache_node_group,
            "primary": primary,
        },
        f"the {region} cache is failed over",
    )
    act_or_forget(
        ctx,
        entry,
        lambda: ctx.aws.call(
            "elasticache",
            where.aws_region,
            "test_failover",
            {
                "ReplicationGroupId": where.cache_replication_group,
                "NodeGroupId": where.cache_node_group,
            },
            mutating=True,
            via=(
                "chaosaws.elasticache.actions.test_failover",
                {
                    "replication_group_id": where.cache_replication_group,
                    "node_group_id": where.cache_node_group,
                },
            ),
        ),
    )
    return result(ctx, "kill_cache", mark, id=entry.id, region=region, primary_was=primary)


def start_cache(ctx: Context, region: str) -> dict[str, Any]:
    """Undo `kill_cache`: the recorded primary is primary again; idempotent."""
    mark = len(ctx.log.calls)
    where = ctx.target.region(region)
    entry = find(ctx, "kill_cache", {"region": region})
    if entry is None:
        return result(ctx, "start_cache", mark, region=region, restored=False)
    original = entry.params["touched"]["primary"]
    available = lambda: _group(ctx, region).get("Status") == "available"  # noqa: E731
    ctx.wait(f"{where.cache_replication_group} is available", available, AVAILABLE_TIMEOUT, POLL)
    if _primary(ctx, region) != original:
        ctx.aws.call(
            "elasticache",
            where.aws_region,
            "modify_replication_group",
            {
                "ReplicationGroupId": where.cache_replication_group,
                "PrimaryClusterId": original,
                "ApplyImmediately": True,
            },
            mutating=True,
        )
        ctx.wait(
            f"{original} is the primary again",
            lambda: available() and _primary(ctx, region) == original,
            AVAILABLE_TIMEOUT,
            POLL,
        )
    forget(ctx, entry)
    return result(ctx, "start_cache", mark, region=region, restored=True, primary=original)
