"""Kubernetes faults on each region's EKS cluster.

- `kill_shop(region)`: scale the shop Deployment to 0 (chaostoolkit-kubernetes
  `scale_deployment`); undo: the recorded replica count;
- `crash_region(region)`: delete every pod of the region's namespaces with no
  grace period (SIGKILL, as a power loss); undo: wait until every Deployment
  is ready again;
- `isolate_region(region)`: a deny-all NetworkPolicy (ingress and egress) in
  each of the region's namespaces; undo: delete them;
- `partition_regions(a, b)`: in each region's namespaces, a policy allowing
  everything except the peer region's CIDRs; undo: delete them.

Policies go only into namespaces without policies of their own (see
`manifests`), and carry the ledger entry's id as a label.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client import ApiException

from aftershock.config.target_file import Eks
from aftershock.errors import SandboxError
from aftershock.targets.k8s import manifests
from aftershock.targets.remote import Context, act_or_forget, find, forget, record, result

READY_TIMEOUT = 600.0
POLL = 5.0


class PolicyUnsafe(SandboxError):
    """The namespace has NetworkPolicies of its own: ours could not deny (only widen)."""


def eks_of(ctx: Context, region: str) -> Eks:
    eks = ctx.target.region(region).eks
    if eks is None:
        raise SandboxError(
            f"regions.{region}.eks is not in {ctx.target.path}: "
            "no Kubernetes fault can act on that region"
        )
    return eks


def kill_shop(ctx: Context, region: str) -> dict[str, Any]:
    """Scale `region`'s shop Deployment to zero; the recorded replica count is the undo."""
    mark = len(ctx.log.calls)
    eks = eks_of(ctx, region)
    namespace = eks.namespaces[0]
    found = ctx.kube.call(
        eks.context,
        "AppsV1Api.read_namespaced_deployment",
        {"name": eks.shop_deployment, "namespace": namespace},
    )
    replicas = found.spec.replicas
    entry = record(
        ctx,
        "kill_shop",
        {"region": region},
        {
            "context": eks.context,
            "namespace": namespace,
            "deployment": eks.shop_deployment,
            "replicas": replicas,
        },
        f"the {region} shop is scaled to zero",
    )
    act_or_forget(
        ctx, entry, lambda: scale_deployment(ctx, eks.context, namespace, eks.shop_deployment, 0)
    )
    return result(ctx, "kill_shop", mark, id=entry.id, region=region, replicas_were=replicas)


def start_shop(ctx: Context, region: str) -> dict[str, Any]:
    """Scale the shop back to the recorded replica count and wait until it is ready; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "kill_shop", {"region": region})
    if entry is None:
        return result(ctx, "start_shop", mark, region=region, restored=False)
    touched = entry.params["touched"]
    context, namespace, name = touched["context"], touched["namespace"], touched["deployment"]
    scale_deployment(ctx, context, namespace, name, touched["replicas"])
    ctx.wait(
        f"{namespace}/{name} has {touched['replicas']} ready replicas",
        lambda: deployment_ready(ctx, context, namespace, name),
        READY_TIMEOUT,
        POLL,
    )
    forget(ctx, entry)
    return result(ctx, "start_shop", mark, region=region, restored=True)


def scale_deployment(
    ctx: Context, context: str, namespace: str, name: str, replicas: int | str
) -> Any:
    """Scale a Deployment (through chaostoolkit-kubernetes where it makes the call)."""
    return ctx.kube.call(
        context,
        "AppsV1Api.patch_namespaced_deployment",
        {"name": name, "namespace": namespace, "body": manifests.scale(replicas)},
        mutating=True,
        via=(
            "chaosk8s.deployment.actions.scale_deployment",
            {"name": name, "replicas": replicas, "ns": namespace},
        ),
    )


def deployment_ready(ctx: Context, context: str, namespace: str, name: str) -> bool:
    """True when the Deployment has as many ready replicas as it wants."""
    found = ctx.kube.call(
        context, "AppsV1Api.read_namespaced_deployment", {"name": name, "namespace": namespace}
    )
    return (found.status.ready_replicas or 0) >= (found.spec.replicas or 0)


def terminate_pods(ctx: Context, region: str) -> dict[str, list[str]]:
    """SIGKILL every pod of `region`'s namespaces (grace period 0); the names it deleted."""
    eks = eks_of(ctx, region)
    deleted: dict[str, list[str]] = {}
    for namespace in eks.namespaces:
        pods = ctx.kube.call(eks.context, "CoreV1Api.list_namespaced_pod", {"namespace": namespace})
        deleted[namespace] = [p.metadata.name for p in pods.items]
        for name in deleted[namespace]:
            ctx.kube.call(
                eks.context,
                "CoreV1Api.delete_namespaced_pod",
                {"name": name, "namespace": namespace, "body": manifests.kill_now()},
                mutating=True,
            )
    return deleted


def await_deployments(ctx: Context, region: str) -> None:
    """Wait until every Deployment of `region`'s namespaces has all its replicas ready."""
    eks = eks_of(ctx, region)
    for namespace in eks.namespaces:

        def ready(namespace: str = namespace) -> bool:
            found = ctx.kube.call(
                eks.context, "AppsV1Api.list_namespaced_deployment", {"namespace": namespace}
            )
            return all(
                (d.status.ready_replicas or 0) >= (d.spec.replicas or 0) for d in found.items
            )

        ctx.wait(f"every Deployment in {namespace} ({region}) is ready", ready, READY_TIMEOUT, POLL)


def crash_region(ctx: Context, region: str) -> dict[str, Any]:
    """Every pod of `region` killed at once; Kubernetes starts them again."""
    mark = len(ctx.log.calls)
    eks = eks_of(ctx, region)
    entry = record(
        ctx,
        "crash_region",
        {"region": region},
        {"context": eks.context, "namespaces": list(eks.namespaces)},
        f"{region} is crashed",
    )
    pods = terminate_pods(ctx, region)
    return result(ctx, "crash_region", mark, id=entry.id, region=region, pods=pods)


def recover_region(ctx: Context, region: str) -> dict[str, Any]:
    """Wait until `region`'s Deployments are ready again; idempotent."""
    mark = len(ctx.log.calls)
    await_deployments(ctx, region)
    forget(ctx, find(ctx, "crash_region", {"region": region}))
    return result(ctx, "recover_region", mark, region=region)


def isolate_region(ctx: Context, region: str) -> dict[str, Any]:
    """A deny-all NetworkPolicy in each of `region`'s namespaces."""
    mark = len(ctx.log.calls)
    eks = eks_of(ctx, region)
    name = f"aftershock-isolate-{region}"
    places = [(eks.context, ns) for ns in eks.namespaces]
    _require_no_policies(ctx, places)
    entry = record(
        ctx,
        "isolate_region",
        {"region": region},
        {"policies": [[c, ns, name] for c, ns in places]},
        f"{region} is isolated",
    )
    body = manifests.as_body(manifests.deny_all(name, entry.id))
    for context, namespace in places:
        _create_policy(ctx, context, namespace, body)
    return result(ctx, "isolate_region", mark, id=entry.id, region=region, policy=name)


def restore_region(ctx: Context, region: str) -> dict[str, Any]:
    """Undo `isolate_region`; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "isolate_region", {"region": region})
    if entry is not None:
        _delete_policies(ctx, entry.params["touched"]["policies"])
        forget(ctx, entry)
    return result(ctx, "restore_region", mark, region=region, restored=entry is not None)


def partition_regions(ctx: Context, a: str, b: str) -> dict[str, Any]:
    """Cut pod traffic between `a` and `b`: each region's namespaces deny the other's CIDRs."""
    mark = len(ctx.log.calls)
    if a == b:
        raise SandboxError(f"cannot partition {a} from itself")
    name = f"aftershock-partition-{a}-{b}"
    sides = {a: eks_of(ctx, a), b: eks_of(ctx, b)}
    places = [(side.context, ns) for side in sides.values() for ns in side.namespaces]
    _require_no_policies(ctx, places)
    entry = record(
        ctx,
        "partition_regions",
        {"a": a, "b": b},
        {"policies": [[c, ns, name] for c, ns in places]},
        f"{a} and {b} are partitioned",
    )
    for region, side in sides.items():
        peer = sides[b if region == a else a]
        body = manifests.as_body(manifests.deny_peers(name, entry.id, peer.cidrs))
        for namespace in side.namespaces:
            _create_policy(ctx, side.context, namespace, body)
    return result(ctx, "partition_regions", mark, id=entry.id, a=a, b=b, policy=name)


def heal_partition(ctx: Context, a: str, b: str) -> dict[str, Any]:
    """Undo `partition_regions`; idempotent."""
    mark = len(ctx.log.calls)
    entry = find(ctx, "partition_regions", {"a": a, "b": b})
    if entry is not None:
        _delete_policies(ctx, entry.params["touched"]["policies"])
        forget(ctx, entry)
    return result(ctx, "heal_partition", mark, a=a, b=b, healed=entry is not None)


def _require_no_policies(ctx: Context, places: list[tuple[str, str]]) -> None:
    for context, namespace in places:
        found = ctx.kube.call(
            context, "NetworkingV1Api.list_namespaced_network_policy", {"namespace": namespace}
        )
        names = [p.metadata.name for p in found.items]
        if names:
            raise PolicyUnsafe(
                f"namespace {namespace} ({context}) has NetworkPolicies ({', '.join(names)}): "
                "policies only add what they allow, so ours could not cut it off; nothing done"
            )


def _create_policy(ctx: Context, context: str, namespace: str, body: dict[str, Any]) -> None:
    ctx.kube.call(
        context,
        "NetworkingV1Api.create_namespaced_network_policy",
        {"namespace": namespace, "body": body},
        mutating=True,
        via=("chaosk8s.networking.actions.create_network_policy", {"spec": body, "ns": namespace}),
    )


def _delete_policies(ctx: Context, policies: list[list[str]]) -> None:
    for context, namespace, name in policies:
        try:
            ctx.kube.call(
                context,
                "NetworkingV1Api.delete_namespaced_network_policy",
                {"name": name, "namespace": namespace},
                mutating=True,
                via=(
                    "chaosk8s.networking.actions.remove_network_policy",
                    {"name": name, "ns": namespace},
                ),
            )
        except ApiException as exc:
            if exc.status != 404:  # already gone is what an undo wants
                raise
