"""Event-path faults on AWS: MSK broker reboots and MirrorMaker 2 outages.

- `kill_broker(region)`: MSK's own broker reboot (`kafka.RebootBroker`,
  through chaostoolkit-aws's `msk.reboot_msk_broker`) of the brokers the
  target file lists. `start_broker` waits until the cluster is ACTIVE.
- `cut_mirror_link()`: every region's MirrorMaker 2 Deployment scaled to 0
  on its EKS cluster (the replica counts are recorded); `heal_mirror_link`
  scales each back and waits until it is ready. Topics keep taking events
  in each region while mirroring stops, as with the sandbox's link cut.
"""

from __future__ import annotations

from typing import Any

from aftershock.config.target_events import Events
from aftershock.errors import SandboxError
from aftershock.targets.k8s.faults import deployment_ready, eks_of, scale_deployment
from aftershock.targets.remote import Context, act_or_forget, find, forget, record, result

ACTIVE_TIMEOUT = 1800.0
POLL = 15.0


def events_of(ctx: Context) -> Events:
    if ctx.target.events is None:
        raise SandboxError(
            f"events is not in {ctx.target.path}: no MSK or MirrorMaker 2 fault can act"
        )
    return ctx.target.events


def kill_broker(ctx: Context, region: str) -> dict[str, Any]:
    """Reboot the listed brokers of `region`'s MSK cluster (a broker crash MSK recovers from)."""
    mark = len(ctx.log.calls)
    cluster = events_of(ctx).region(region)
    aws_region = ctx.target.region(region).aws_region
    entry = record(
        ctx,
        "kill_broker",
        {"region": region},
        {"cluster_arn": cluster.msk_cluster_arn, "broker_ids": list(cluster.broker_ids)},
        f"the {region} brokers are rebooting",
    )
    act_or_forget(
        ctx,
        entry,
        lambda: ctx.aws.call(
            "kafka",
            aws_region,
            "reboot_broker",
            {"ClusterArn": cluster.msk_cluster_arn, "BrokerIds": list(cluster.broker_ids)},
            mutating=True,
            via=(
                "chaosaws.msk.actions.reboot_msk_broker",
                {"cluster_arn": cluster.msk_cluster_arn, "broker_ids": list(cluster.broker_ids)},
            ),
        ),
    )
    return result(ctx, "kill_broker", mark, id=entry.id, region=region)


def start_broker(ctx: Context, region: str) -> dict[str, Any]:
    """Wait until `region`'s MSK cluster is ACTIVE again; idempotent (MSK restarts its brokers)."""
    mark = len(ctx.log.calls)
    cluster = events_of(ctx).region(region)
    aws_region = ctx.target.region(region).aws_region

    def active() -> bool:
        found = ctx.aws.call(
            "kafka", aws_region, "describe_cluster_v2", {"ClusterArn": cluster.msk_cluster_arn}
        )
        return (found.get("ClusterInfo") or {}).get("State") == "ACTIVE"

    ctx.wait(f"{cluster.msk_cluster_arn} is ACTIVE", active, ACTIVE_TIMEOUT, POLL)
    forget(ctx, find(ctx, "kill_broker", {"region": region}))
    return result(ctx, "start_broker", mark, region=region)


def cut_mirror_link(ctx: Context) -> dict[str, Any]:
    """Scale every region's MirrorMaker 2 Deployment to 0; the replica counts are the undo."""
    mark = len(ctx.log.calls)
    events = events_of(ctx)
    touched = {}
    for name, cluster in events.regions.items():
        eks = eks_of(ctx, name)
        mm2 = cluster.mirrormaker
        found = ctx.kube.call(
            eks.context,
            "AppsV1Api.read_namespaced_deployment",
            {"name": mm2.deployment, "namespace": mm2.namespace},
        )
        if not found.spec.replicas and not ctx.dry_run:
            raise SandboxError(
                f"{mm2.namespace}/{mm2.deployment} on {eks.context} runs no replica: "
                "MirrorMaker 2 is already down, there is no link to cut"
            )
        touched[name] = {"context": eks.context, "namespace": mm2.namespace,
                         "deployment": mm2.deployment, "replicas": found.spec.replicas}  # fmt: skip
    entry = record(ctx, "cut_mirror_link", {}, touched, "MirrorMaker 2 is scaled to zero")
    # Once a scale request has been sent the entry stays, whatever it answered:
    # the heal is idempotent, and a request that timed out may still have applied.
    for where in touched.values():
        scale_deployment(ctx, where["context"], where["namespace"], where["deployment"], 0)
    return result(ctx, "cut_mirror_link", mark, id=entry.id, regions=sorted(touched))


def heal_mirror_link(ctx: Context) -> dict[str, Any]:
    """Scale each MirrorMaker 2 back to its recorded replicas and wait until ready; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "cut_mirror_link", {})
    if entry is None:
        return result(ctx, "heal_mirror_link", mark, restored=False)
    for where in entry.params["touched"].values():
        context, namespace, name = where["context"], where["namespace"], where["deployment"]
        scale_deployment(ctx, context, namespace, name, where["replicas"])
        ctx.wait(
            f"{namespace}/{name} has {where['replicas']} ready replicas",
            lambda c=context, n=namespace, d=name: deployment_ready(ctx, c, n, d),
            ACTIVE_TIMEOUT,
            POLL,
        )
    forget(ctx, entry)
    return result(ctx, "heal_mirror_link", mark, restored=True)
