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


def _global_primary(ctx: Context) -> tuple[str, str]:
    """(AWS region, replication group) of the Global Datastore's primary member now."""
    gid = _global_id(ctx)
    home = ctx.target.region(ctx.target.primary_region).aws_region
    found = ctx.aws.call(
        "elasticache",
        home,
        "describe_global_replication_groups",
        {"GlobalReplicationGroupId": gid, "ShowMemberInfo": True},
    )
    for member in found["GlobalReplicationGroups"][0].get("Members", []):
        if member.get("Role", "").upper() == "PRIMARY":
            return str(member["ReplicationGroupRegion"]), str(member["ReplicationGroupId"])
    raise SandboxError(f"global datastore {gid} has no primary member now")


def _global_id(ctx: Context) -> str:
    if not ctx.target.global_cache_id:
        raise SandboxError(
            f"global_cache.global_replication_group_id is not in {ctx.target.path}: "
            "the catalog cache cannot be failed over"
        )
    return ctx.target.global_cache_id


def _fail_over_to(ctx: Context, aws_region: str, group: str) -> Any:
    return ctx.aws.call(
        "elasticache",
        aws_region,
        "failover_global_replication_group",
        {
            "GlobalReplicationGroupId": _global_id(ctx),
            "PrimaryRegion": aws_region,
            "PrimaryReplicationGroupId": group,
        },
        mutating=True,
    )


def fail_over_cache(ctx: Context, region: str) -> dict[str, Any]:
    """Promote `region`'s member of the catalog cache's Global Datastore."""
    mark = len(ctx.log.calls)
    where = ctx.target.region(region)
    was_region, was_group = _global_primary(ctx)
    if was_group == where.cache_replication_group:
        raise SandboxError(f"{where.cache_replication_group} is the primary already")
    entry = record(
        ctx,
        "fail_over_cache",
        {"region": region},
        {"primary_region": was_region, "primary_group": was_group},
        "the catalog cache is failed over",
    )
    act_or_forget(
        ctx, entry, lambda: _fail_over_to(ctx, where.aws_region, where.cache_replication_group)
    )
    # The failover is asynchronous: the fault is on once the new member leads.
    ctx.wait(
        f"{where.cache_replication_group} leads the global datastore",
        lambda: _global_primary(ctx)[1] == where.cache_replication_group,
        AVAILABLE_TIMEOUT,
        POLL,
    )
    return result(ctx, "fail_over_cache", mark, id=entry.id, region=region, primary_was=was_group)


def fail_back_cache(ctx: Context, region: str) -> dict[str, Any]:
    """Undo `fail_over_cache`: the recorded primary member leads again; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "fail_over_cache", {"region": region})
    if entry is None:
        return result(ctx, "fail_back_cache", mark, region=region, restored=False)
    touched = entry.params["touched"]
    home = ctx.target.region(ctx.target.primary_region).aws_region

    def status() -> str:
        found = ctx.aws.call(
            "elasticache",
            home,
            "describe_global_replication_groups",
            {"GlobalReplicationGroupId": _global_id(ctx), "ShowMemberInfo": False},
        )
        return str(found["GlobalReplicationGroups"][0].get("Status"))

    ctx.wait("the global datastore is available", lambda: status() == "available",
             AVAILABLE_TIMEOUT, POLL)  # fmt: skip
    if _global_primary(ctx)[1] != touched["primary_group"]:
        _fail_over_to(ctx, touched["primary_region"], touched["primary_group"])
        ctx.wait(
            f"{touched['primary_group']} is the primary again",
            lambda: status() == "available" and _global_primary(ctx)[1] == touched["primary_group"],
            AVAILABLE_TIMEOUT,
            POLL,
        )
    forget(ctx, entry)
    return result(ctx, "fail_back_cache", mark, region=region, restored=True)


def cache_primary(ctx: Context) -> dict[str, Any]:
    """Which region's member of the catalog cache's Global Datastore is the primary now."""
    aws_region, group = _global_primary(ctx)
    region = next(
        (r.name for r in ctx.target.regions.values() if r.cache_replication_group == group), None
    )
    return {"primary": region, "roles": {"primary": group, "aws_region": aws_region}}


LAG_METRIC = "GlobalDatastoreReplicationLag"
LAG_WINDOW_S = 300
LAG_PERIOD_S = 60


def cache_lag(ctx: Context, timeout: float = 0.0) -> dict[str, Any]:
    """The Global Datastore's replication lag: the newest `GlobalDatastoreReplicationLag`.

    ElastiCache publishes it (seconds) on the primary node of each
    secondary member. `seconds` is the largest over the secondaries; None,
    with the error, when a secondary has no datapoint in the last five
    minutes: no figure is never read as no lag. `timeout` is the
    sandbox's probe's and unused here.
    """
    gid = _global_id(ctx)
    home = ctx.target.region(ctx.target.primary_region).aws_region
    found = ctx.aws.call(
        "elasticache",
        home,
        "describe_global_replication_groups",
        {"GlobalReplicationGroupId": gid, "ShowMemberInfo": True},
    )
    members = found["GlobalReplicationGroups"][0].get("Members", [])
    primary = next((m for m in members if m.get("Role", "").upper() == "PRIMARY"), None)
    if primary is None:
        raise SandboxError(f"global datastore {gid} has no primary member now")
    secondaries = [m for m in members if m.get("Role", "").upper() != "PRIMARY"]
    end = int(ctx.clock())
    lags: dict[str, float | None] = {}
    for member in secondaries:
        aws_region, group = str(member["ReplicationGroupRegion"]), str(member["ReplicationGroupId"])
        node = _primary_node(ctx, aws_region, group)
        points = ctx.aws.call(
            "cloudwatch",
            aws_region,
            "get_metric_statistics",
            {
                "Namespace": "AWS/ElastiCache",
                "MetricName": LAG_METRIC,
                "Dimensions": [{"Name": "CacheClusterId", "Value": node}],
                "StartTime": end - LAG_WINDOW_S,
                "EndTime": end,
                "Period": LAG_PERIOD_S,
                "Statistics": ["Maximum"],
            },
        ).get("Datapoints", [])
        newest = sorted(points, key=lambda p: p["Timestamp"])[-1:] or [None]
        lags[group] = None if newest[0] is None else float(newest[0]["Maximum"])
    region = next(
        (r.name for r in ctx.target.regions.values()
         if r.cache_replication_group == primary["ReplicationGroupId"]),
        None,
    )  # fmt: skip
    missing = [g for g, v in lags.items() if v is None]
    outcome: dict[str, Any] = {
        "seconds": None if missing or not lags else max(v for v in lags.values() if v is not None),
        "capped": False,
        "primary": region,
        "secondaries": lags,
        "source": f"cloudwatch AWS/ElastiCache {LAG_METRIC}",
    }
    if not lags:
        outcome["error"] = f"global datastore {gid} has no secondary member"
    elif missing:
        outcome["error"] = f"no {LAG_METRIC} datapoint in the last 5 min for {', '.join(missing)}"
    return outcome


def _primary_node(ctx: Context, aws_region: str, group: str) -> str:
    """The cache cluster id of `group`'s primary node, where ElastiCache publishes the lag."""
    found = ctx.aws.call(
        "elasticache", aws_region, "describe_replication_groups", {"ReplicationGroupId": group}
    )
    for shard in found["ReplicationGroups"][0].get("NodeGroups", []):
        for member in shard.get("NodeGroupMembers", []):
            if member.get("CurrentRole") == "primary":
                return str(member["CacheClusterId"])
    raise SandboxError(f"{group} in {aws_region} has no primary node now")
