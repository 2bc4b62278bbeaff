"""Region isolation on AWS: a network-ACL blackhole, an FIS experiment, or a Route 53 drill.

The target file picks the method per region (`regions.<r>.isolation.method`):

- `nacl`: a new network ACL in the region's VPC (a new NACL has only its
  default deny-all entries) replaces the association of each listed subnet;
  the undo puts every subnet back on the NACL it had, then deletes ours;
- `fis`: the region's AWS FIS experiment template is started (through
  chaostoolkit-aws), tagged with the ledger entry; the undo stops it;
- `route53`: the traffic failover drill: the region's Route 53 health check
  is inverted, so Route 53 sees the region unhealthy and moves its traffic;
  nothing in the region's data path is touched. The undo sets it back.
"""

from __future__ import annotations

from typing import Any

from aftershock.errors import SandboxError
from aftershock.targets.remote import Context, act_or_forget, find, forget, record, result

ENTRY_TAG = "aftershock-entry"
RUNNING = ("pending", "initiating", "running")


def isolate_region(ctx: Context, region: str) -> dict[str, Any]:
    """Cut `region` off by the method its target file names."""
    method = ctx.target.region(region).isolation.method
    mark = len(ctx.log.calls)
    detail = {"nacl": _isolate_nacl, "fis": _isolate_fis, "route53": _invert_check}[method](
        ctx, region
    )
    return result(ctx, "isolate_region", mark, region=region, method=method, **detail)


def restore_region(ctx: Context, region: str) -> dict[str, Any]:
    """Undo `isolate_region` from what the ledger recorded; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "isolate_region", {"region": region})
    if entry is None:
        return result(ctx, "restore_region", mark, region=region, restored=False)
    touched = entry.params["touched"]
    undo = {"nacl": _restore_nacl, "fis": _stop_fis, "route53": _revert_check}
    undo[touched["method"]](ctx, region, entry.id, touched)
    forget(ctx, entry)
    return result(ctx, "restore_region", mark, region=region, restored=True)


def _isolate_nacl(ctx: Context, region: str) -> dict[str, Any]:
    where = ctx.target.region(region)
    vpc, subnets = where.isolation.vpc_id, list(where.isolation.subnet_ids)
    current = _associations(ctx, where.aws_region, vpc, subnets)
    missing = [s for s in subnets if s not in current]
    if missing:
        raise SandboxError(
            f"subnets {', '.join(missing)} have no network ACL in {vpc}; "
            f"check regions.{region}.isolation"
        )
    original = {s: acl for s, (_, acl) in current.items()}
    entry = record(
        ctx,
        "isolate_region",
        {"region": region},
        {"method": "nacl", "vpc_id": vpc, "subnets": original},
        f"{region} is isolated",
    )
    tags = [
        {"Key": "Name", "Value": f"aftershock-blackhole-{ctx.target.name}-{region}"},
        {"Key": ENTRY_TAG, "Value": entry.id},
    ]
    created = act_or_forget(
        ctx,
        entry,
        lambda: ctx.aws.call(
            "ec2",
            where.aws_region,
            "create_network_acl",
            # The entry id as ClientToken: a retried create returns the same NACL.
            {
                "VpcId": vpc,
                "ClientToken": entry.id,
                "TagSpecifications": [{"ResourceType": "network-acl", "Tags": tags}],
            },
            mutating=True,
        ),
    )
    blackhole = created["NetworkAcl"]["NetworkAclId"]
    for subnet in subnets:  # a failure half-way keeps the entry: heal puts back what moved
        ctx.aws.call(
            "ec2",
            where.aws_region,
            "replace_network_acl_association",
            {"AssociationId": current[subnet][0], "NetworkAclId": blackhole},
            mutating=True,
        )
    return {"id": entry.id, "network_acl": blackhole, "subnets": subnets}


def _restore_nacl(ctx: Context, region: str, entry_id: str, touched: dict[str, Any]) -> None:
    aws_region = ctx.target.region(region).aws_region
    vpc, original = touched["vpc_id"], touched["subnets"]
    current = _associations(ctx, aws_region, vpc, list(original))
    for subnet, acl in original.items():
        association, now = current.get(subnet, (None, None))
        if association is not None and now != acl:
            ctx.aws.call(
                "ec2",
                aws_region,
                "replace_network_acl_association",
                {"AssociationId": association, "NetworkAclId": acl},
                mutating=True,
            )
    ours = _network_acls(ctx, aws_region, vpc, {"Name": f"tag:{ENTRY_TAG}", "Values": [entry_id]})
    for acl in ours:
        ctx.aws.call(
            "ec2",
            aws_region,
            "delete_network_acl",
            {"NetworkAclId": acl["NetworkAclId"]},
            mutating=True,
        )


def _network_acls(
    ctx: Context, aws_region: str, vpc: str, where: dict[str, Any]
) -> list[dict[str, Any]]:
    """The network ACLs of `vpc` that match the filter `where`."""
    found = ctx.aws.call(
        "ec2",
        aws_region,
        "describe_network_acls",
        {"Filters": [{"Name": "vpc-id", "Values": [vpc]}, where]},
    )
    return list(found.get("NetworkAcls", []))


def _associations(
    ctx: Context, aws_region: str, vpc: str, subnets: list[str]
) -> dict[str, tuple[str, str]]:
    """subnet -> (association id, network ACL id) as AWS has it now."""
    found = _network_acls(
        ctx, aws_region, vpc, {"Name": "association.subnet-id", "Values": subnets}
    )
    current = {}
    for acl in found:
        for link in acl.get("Associations", []):
            if link.get("SubnetId") in subnets:
                current[link["SubnetId"]] = (link["NetworkAclAssociationId"], link["NetworkAclId"])
    return current


def _isolate_fis(ctx: Context, region: str) -> dict[str, Any]:
    where = ctx.target.region(region)
    template = where.isolation.experiment_template_id
    entry = record(
        ctx,
        "isolate_region",
        {"region": region},
        {"method": "fis", "experiment_template_id": template},
        f"{region} is isolated",
    )
    tags = {ENTRY_TAG: entry.id}
    started = act_or_forget(
        ctx,
        entry,
        lambda: ctx.aws.call(
            "fis",
            where.aws_region,
            "start_experiment",
            {"experimentTemplateId": template, "clientToken": entry.id, "tags": tags},
            mutating=True,
            via=(
                "chaosaws.fis.actions.start_experiment",
                {"experiment_template_id": template, "client_token": entry.id, "tags": tags},
            ),
        ),
    )
    return {"id": entry.id, "experiment": started.get("experiment", {}).get("id")}


def _stop_fis(ctx: Context, region: str, entry_id: str, touched: dict[str, Any]) -> None:
    # Not chaosaws's stop_experiments_by_tags: it reads only the first 100
    # experiments of the account and also "stops" completed ones, which FIS
    # refuses (fis/actions.py:164,175). Ours pages through
    # this template's experiments and stops only the running one it started.
    aws_region = ctx.target.region(region).aws_region
    params: dict[str, Any] = {"experimentTemplateId": touched["experiment_template_id"]}
    while True:
        page = ctx.aws.call("fis", aws_region, "list_experiments", params)
        for experiment in page.get("experiments", []):
            mine = experiment.get("tags", {}).get(ENTRY_TAG) == entry_id
            if mine and experiment.get("state", {}).get("status") in RUNNING:
                ctx.aws.call(
                    "fis",
                    aws_region,
                    "stop_experiment",
                    {"id": experiment["id"]},
                    mutating=True,
                    via=(
                        "chaosaws.fis.actions.stop_experiment",
                        {"experiment_id": experiment["id"]},
                    ),
                )
        if not page.get("nextToken"):
            return
        params = {**params, "nextToken": page["nextToken"]}


# Route 53 is a global service: its client may name any region and reaches
# the one global endpoint, so the region's own (allowlisted) region is used.


def fail_health_check(ctx: Context, region: str) -> dict[str, Any]:
    """The DR drill's step 1: invert `region`'s Route 53 health check; the region keeps running.

    Sets `Inverted=True`; a check already inverted (another drill, a Route 53
    isolation, a hand) is refused, so the undo can only put back what this
    changed.
    """
    mark = len(ctx.log.calls)
    check = _health_check(ctx, region)
    if bool(check["HealthCheckConfig"].get("Inverted", False)):
        raise SandboxError(
            f"{region}'s Route 53 health check {ctx.target.region(region).health_check_id} is "
            "inverted already: find who inverted it, and revert it before the drill"
        )
    detail = _invert_check(
        ctx, region, "fail_health_check", f"{region}'s health check is failed",
        ("isolate_region",), check,
    )  # fmt: skip
    return result(ctx, "fail_health_check", mark, region=region, **detail)


def restore_health_check(ctx: Context, region: str) -> dict[str, Any]:
    """Undo `fail_health_check` from what the ledger recorded; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "fail_health_check", {"region": region})
    if entry is None:
        return result(ctx, "restore_health_check", mark, region=region, restored=False)
    _revert_check(ctx, region, entry.id, entry.params["touched"])
    forget(ctx, entry)
    return result(ctx, "restore_health_check", mark, region=region, restored=True)


def _invert_check(
    ctx: Context,
    region: str,
    fault: str = "isolate_region",
    busy: str = "",
    conflicts: tuple[str, ...] = ("fail_health_check",),
    check: dict[str, Any] | None = None,
) -> dict[str, Any]:
    where = ctx.target.region(region)
    check = check if check is not None else _health_check(ctx, region)
    inverted = bool(check["HealthCheckConfig"].get("Inverted", False))
    entry = record(
        ctx,
        fault,
        {"region": region},
        {"method": "route53", "health_check_id": where.health_check_id, "inverted": inverted},
        busy or f"{region} is isolated",
        conflicts,
    )
    act_or_forget(
        ctx,
        entry,
        lambda: ctx.aws.call(
            "route53",
            where.aws_region,
            "update_health_check",
            # The version read above: Route 53 refuses the update if someone changed it meanwhile.
            {
                "HealthCheckId": where.health_check_id,
                "HealthCheckVersion": check["HealthCheckVersion"],
                "Inverted": not inverted,
            },
            mutating=True,
        ),
    )
    return {"id": entry.id, "health_check_id": where.health_check_id, "inverted": not inverted}


def _revert_check(ctx: Context, region: str, entry_id: str, touched: dict[str, Any]) -> None:
    where = ctx.target.region(region)
    check = _health_check(ctx, region)
    if bool(check["HealthCheckConfig"].get("Inverted", False)) != touched["inverted"]:
        ctx.aws.call(
            "route53",
            where.aws_region,
            "update_health_check",
            {
                "HealthCheckId": touched["health_check_id"],
                "HealthCheckVersion": check["HealthCheckVersion"],
                "Inverted": touched["inverted"],
            },
            mutating=True,
        )


def _health_check(ctx: Context, region: str) -> dict[str, Any]:
    where = ctx.target.region(region)
    found = ctx.aws.call(
        "route53", where.aws_region, "get_health_check", {"HealthCheckId": where.health_check_id}
    )
    return found["HealthCheck"]
