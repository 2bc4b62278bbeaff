"""The Kubernetes objects the faults create, built from the client's own models.

NetworkPolicies only ever allow: a pod selected by several policies may
take the union of what they allow. So the faults only add a policy to a
namespace that has none of its own (checked first): there a deny-all policy
really denies, and an "everything but the peer region" policy cuts exactly
the peer, never opening anything the namespace's own policies had closed.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubernetes import client

MANAGED_BY = {"app.kubernetes.io/managed-by": "aftershock"}
ENTRY_LABEL = "aftershock.io/entry"


def _meta(name: str, entry_id: str) -> client.V1ObjectMeta:
    return client.V1ObjectMeta(name=name, labels={**MANAGED_BY, ENTRY_LABEL: entry_id})


def deny_all(name: str, entry_id: str) -> client.V1NetworkPolicy:
    """Every pod of the namespace: no ingress, no egress (DNS included: the region is cut off)."""
    return _every_pod(name, entry_id, ingress=[], egress=[])


def deny_peers(name: str, entry_id: str, peer_cidrs: tuple[str, ...]) -> client.V1NetworkPolicy:
    """Every pod of the namespace: anything in and out except the peer region's networks.

    Pods of this cluster stay reachable through a namespace selector: some
    CNIs do not match in-cluster pod traffic by ipBlock at all.
    """
    peers = [client.V1NetworkPolicyPeer(namespace_selector=client.V1LabelSelector())]
    for everything in ("0.0.0.0/0", "::/0"):
        version = ipaddress.ip_network(everything).version
        excluded = [c for c in peer_cidrs if ipaddress.ip_network(c).version == version]
        peers.append(
            client.V1NetworkPolicyPeer(
                ip_block=client.V1IPBlock(cidr=everything, _except=excluded or None)
            )
        )
    return _every_pod(
        name,
        entry_id,
        ingress=[client.V1NetworkPolicyIngressRule(_from=peers)],
        egress=[client.V1NetworkPolicyEgressRule(to=peers)],
    )


def _every_pod(
    name: str,
    entry_id: str,
    ingress: list[client.V1NetworkPolicyIngressRule],
    egress: list[client.V1NetworkPolicyEgressRule],
) -> client.V1NetworkPolicy:
    """A policy over every pod of its namespace, both directions, allowing only these rules."""
    return client.V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=_meta(name, entry_id),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
    )


def as_body(model: Any) -> dict[str, Any]:
    """The JSON body the API server receives for `model` (camelCase keys, no nulls)."""
    return client.ApiClient().sanitize_for_serialization(model)


def scale(replicas: int | str) -> dict[str, Any]:
    """The strategic-merge patch that scales a Deployment."""
    return {"spec": {"replicas": replicas}}


def kill_now() -> client.V1DeleteOptions:
    """Delete options of a power loss: no grace period, the kubelet SIGKILLs at once."""
    return client.V1DeleteOptions(grace_period_seconds=0)
