"""Read-only observations of the AWS platform, for the probes in `probes/`.

- replication lag: CloudWatch's `AuroraGlobalDBReplicationLag` (milliseconds)
  of every secondary cluster, in the same shape as the sandbox's heartbeat
  probe (`{"max": seconds, "replicas": {...}}`). The metric is published per
  minute: it sees sustained lag, not a one-second spike;
- region readiness: the region's Route 53 health check (what routing acts
  on) and its endpoint's own `/health/readiness`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aftershock.errors import SandboxError
from aftershock.targets.aws.database import (
    cluster_writer,
    describe_cluster,
    global_cluster,
    writer_cluster,
)
from aftershock.targets.remote import Context, endpoint_readiness

LAG_METRIC = "AuroraGlobalDBReplicationLag"
LAG_WINDOW = timedelta(minutes=5)
LAG_PERIOD = 60
HEALTHY_SHARE = 0.18  # Route 53 deems an endpoint healthy when more than 18 % of checkers do


def replication_lag(ctx: Context) -> dict[str, Any]:
    """The newest AuroraGlobalDBReplicationLag of each secondary, in seconds; `max` over them.

    `max` is None (so a range tolerance fails) when a secondary has no
    datapoint in the last five minutes: no figure is never read as no lag.
    """
    writer, cluster = writer_cluster(ctx)
    end = datetime.fromtimestamp(ctx.clock(), UTC).replace(microsecond=0)
    replicas: dict[str, Any] = {}
    for member in cluster.get("GlobalClusterMembers", []):
        region = ctx.target.region_of_cluster(member["DBClusterArn"])
        if member.get("IsWriter") or region is None:
            continue
        replicas[region] = _lag_of(ctx, region, end)
    seconds = [r["seconds"] for r in replicas.values()]
    found = all(s is not None for s in seconds)
    outcome: dict[str, Any] = {
        "leader": ctx.target.region_of_cluster(writer),
        "replicas": replicas,
        "max": max(seconds, default=0.0) if found else None,
        "source": f"cloudwatch {LAG_METRIC}",
    }
    if not found:
        missing = [r for r, v in replicas.items() if v["seconds"] is None]
        outcome["error"] = f"no {LAG_METRIC} datapoint in the last 5 min for {', '.join(missing)}"
    return outcome


def _lag_of(ctx: Context, region: str, end: datetime) -> dict[str, Any]:
    where = ctx.target.region(region)
    # boto3, not chaosaws.cloudwatch.probes.get_metric_statistics: that takes
    # Datapoints[0], but CloudWatch returns datapoints in no order, and it
    # returns 0 when there is none, which a lag tolerance would pass
    # (cloudwatch/probes.py:107-110).
    found = ctx.aws.call(
        "cloudwatch",
        where.aws_region,
        "get_metric_statistics",
        {
            "Namespace": "AWS/RDS",
            "MetricName": LAG_METRIC,
            "Dimensions": [{"Name": "DBClusterIdentifier", "Value": where.aurora_cluster_id}],
            "StartTime": end - LAG_WINDOW,
            "EndTime": end,
            "Period": LAG_PERIOD,
            "Statistics": ["Maximum"],
            "Unit": "Milliseconds",
        },
    )
    points = sorted(found.get("Datapoints", []), key=lambda p: p["Timestamp"])
    if not points:
        return {"seconds": None, "capped": False, "metric_ms": None, "at": None}
    newest = points[-1]
    return {
        "seconds": round(float(newest["Maximum"]) / 1000.0, 3),
        "capped": False,
        "metric_ms": float(newest["Maximum"]),
        "at": newest["Timestamp"].isoformat(),
    }


def region_ready(ctx: Context, region: str) -> dict[str, Any]:
    """Whether `region` serves: Route 53's health check passes and its endpoint is ready.

    Same shape as the sandbox's probe: `ready`, `shop` (the endpoint's
    answer) and `edge` (`UP` when Route 53 routes to it, else `DOWN`).
    """
    where = ctx.target.region(region)
    status = ctx.aws.call(
        "route53",
        where.aws_region,
        "get_health_check_status",
        {"HealthCheckId": where.health_check_id},
        via=(
            "chaosaws.route53.probes.get_health_check_status",
            {"check_id": where.health_check_id},
        ),
    )
    observations = status.get("HealthCheckObservations", [])
    passing = sum(
        1
        for o in observations
        if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success")
    )
    healthy = bool(observations) and passing / len(observations) > HEALTHY_SHARE
    answer = endpoint_readiness(ctx, where.aws_region, where.endpoint)
    shop = {"status": answer[0], "body": answer[1]} if answer else {"status": None}
    return {
        "region": region,
        "ready": bool(answer and answer[0] == 200 and healthy),
        "shop": shop,
        "edge": "UP" if healthy else "DOWN",
        "health_check": {
            "id": where.health_check_id,
            "passing": passing,
            "checkers": len(observations),
        },
    }


def primaries(ctx: Context) -> dict[str, Any]:
    """Which regions' Aurora clusters accept writes now: two is split brain.

    A cluster is a writer when the global database names it its writer, or
    when it has left the global database (detached and promoted: it takes
    writes of its own). Same shape as the sandbox's probe; judge `count`.
    """
    members = {
        m["DBClusterArn"]: bool(m.get("IsWriter"))
        for m in global_cluster(ctx).get("GlobalClusterMembers", [])
    }
    writers: list[str] = []
    unreachable: dict[str, str] = {}
    for name, region in ctx.target.regions.items():
        if region.aurora_cluster_arn in members:
            if members[region.aurora_cluster_arn]:
                writers.append(name)
            continue
        try:
            status = describe_cluster(ctx, name).get("Status")
        except SandboxError as exc:
            unreachable[name] = f"not in the global database: {exc}"
            continue
        if status == "available":
            writers.append(name)  # outside the global database: a writer of its own
        else:
            unreachable[name] = f"not in the global database, and {status}"
    return {"primaries": writers, "count": len(writers), "unreachable": unreachable}


def leader_changed(
    ctx: Context, fault: str = "crash_db_leader", old_leader: str = "", since: float = 0.0
) -> dict[str, Any]:
    """Whether the writer instance the fault recorded still writes for its cluster.

    `crash_db_leader` records the writer instance it failed over from; the
    promotion time is not read (`promoted_at` is None): Aurora's events
    would have it, and the verdict judges the change only.
    """
    entry = next((e for e in ctx.ledger.entries() if e.fault == fault), None)
    if entry is None:
        raise SandboxError(f"no {fault} in the aws fault ledger: nothing to compare")
    region = str(entry.params.get("region", old_leader))
    was = entry.params.get("touched", {}).get("writer_instance")
    now = cluster_writer(ctx, region)
    changed = now is not None and now != was
    return {
        "valid": changed,
        "reason": f"{now} writes for {region} (was {was})" if changed else f"{was} still writes",
        "old_leader": was,
        "leader": now,
        "promoted_at": None,
        "promotion_s": None,
    }
