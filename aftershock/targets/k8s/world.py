"""The clusters a dry run assumes: the target file's namespaces, answering like the API would.

Reads get objects shaped like the kubernetes client's models (attribute
access), with `<placeholders>` for what only the cluster knows (replica
counts, pod names); changes the faults make are applied, so an undo plans
against the state its fault left.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aftershock.config.target_file import TargetFile


def _deployment(name: str, replicas: Any) -> SimpleNamespace:
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name),
        spec=SimpleNamespace(replicas=replicas),
        status=SimpleNamespace(ready_replicas=replicas, replicas=replicas),
    )


class KubeWorld:
    """The simulated Kubernetes side of one dry run."""

    def __init__(self, target: TargetFile) -> None:
        self.replicas: dict[tuple[str, str, str], Any] = {}
        self.policies: dict[tuple[str, str], set[str]] = {}
        self.shops: dict[tuple[str, str], str] = {}
        for region in target.regions.values():
            if region.eks is None:
                continue
            for namespace in region.eks.namespaces:
                self.policies[(region.eks.context, namespace)] = set()
            shop = (region.eks.context, region.eks.namespaces[0], region.eks.shop_deployment)
            self.replicas[shop] = f"<replicas of {region.eks.shop_deployment}>"

    def respond(self, context: str, operation: str, params: dict[str, Any]) -> Any:
        method = operation.partition(".")[2]
        namespace = params.get("namespace") or params.get("ns", "")
        if method == "read_namespaced_deployment":
            key = (context, namespace, params["name"])
            return _deployment(params["name"], self.replicas.get(key, f"<replicas of {key[2]}>"))
        if method == "list_namespaced_deployment":
            items = [
                _deployment(n, r)
                for (c, ns, n), r in self.replicas.items()
                if (c, ns) == (context, namespace)
            ]
            return SimpleNamespace(items=items)
        if method == "patch_namespaced_deployment":
            replicas = params["body"]["spec"]["replicas"]
            self.replicas[(context, namespace, params["name"])] = replicas
            return _deployment(params["name"], replicas)
        if method == "list_namespaced_pod":
            pod = SimpleNamespace(metadata=SimpleNamespace(name=f"<each pod in {namespace}>"))
            return SimpleNamespace(items=[pod])
        if method == "list_namespaced_network_policy":
            names = sorted(self.policies.get((context, namespace), set()))
            return SimpleNamespace(
                items=[SimpleNamespace(metadata=SimpleNamespace(name=n)) for n in names]
            )
        if method == "create_namespaced_network_policy":
            name = params["body"]["metadata"]["name"]
            self.policies.setdefault((context, namespace), set()).add(name)
        if method == "delete_namespaced_network_policy":
            self.policies.get((context, namespace), set()).discard(params["name"])
        return SimpleNamespace()
