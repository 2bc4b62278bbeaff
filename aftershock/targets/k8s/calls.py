"""Every Kubernetes request of the drivers, performed or (in a dry run) only planned.

`KubeCaller.call` refuses a kube context the target file does not
allowlist, runs the safety guard before anything that changes state, logs
the call, then answers from the dry run's simulation or makes it: through
the chaostoolkit-kubernetes function named in `via`, else through the
kubernetes client's API class on an ApiClient for that context.

One ApiClient per context comes from `new_client_from_config(context=...)`:
the two regions are two EKS clusters, and chaostoolkit-kubernetes's own
`create_k8s_api_client` picks the context from the process environment (or
`secrets`) and loads it into the client library's process-wide default
configuration (chaosk8s/__init__.py:33-87). Its functions get the context
through `secrets={"KUBERNETES_CONTEXT": ...}`; the context must exist in the
kubeconfig first, because without a kubeconfig file that function silently
falls back to `http://localhost` (chaosk8s/__init__.py:112-140).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from aftershock.targets.plan import Call, CallLog, Refused

ApiFactory = Callable[[str], Any]  # kube context -> kubernetes.client.ApiClient


def kubeconfig_client(context: str) -> Any:
    """An ApiClient for `context` of the kubeconfig; a one-line refusal when it is not there."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        return config.new_client_from_config(context=context, persist_config=False)
    except (ConfigException, OSError) as exc:
        raise Refused(f"refused: kube context {context} cannot be loaded: {exc}") from None


class KubeCaller:
    """Makes, or in a dry run records and simulates, the drivers' Kubernetes requests."""

    def __init__(
        self,
        log: CallLog,
        allowed_contexts: tuple[str, ...],
        factory: ApiFactory | None = None,
        guard: Callable[[], None] | None = None,
        world: Any = None,
    ) -> None:
        self.log = log
        self.allowed_contexts = allowed_contexts
        self.factory = factory or kubeconfig_client
        self.guard = guard
        self.world = world  # aftershock.targets.k8s.world.KubeWorld in a dry run
        self.clients: dict[str, Any] = {}

    def call(
        self,
        context: str,
        operation: str,
        params: dict[str, Any],
        mutating: bool = False,
        via: tuple[str, dict[str, Any]] | None = None,
    ) -> Any:
        """One request; `operation` is `<ApiClass>.<method>` of kubernetes.client."""
        if context not in self.allowed_contexts:
            raise Refused(
                f"refused: kube context {context} is not in the target file's "
                f"allowlist.kube_contexts; {operation} was not called"
            )
        if mutating and self.guard is not None and self.world is None:
            self.guard()
        shown = {k: _plain(v) for k, v in params.items()}
        self.log.add(Call("k8s", context, operation, shown, mutating, via[0] if via else ""))
        if self.world is not None:
            return self.world.respond(context, operation, params)
        api = self.client(context)  # also proves the context loads before chaosk8s runs
        if via is not None:
            module, _, name = via[0].rpartition(".")
            function = getattr(importlib.import_module(module), name)
            return function(**via[1], secrets={"KUBERNETES_CONTEXT": context})
        from kubernetes import client

        api_class, _, method = operation.partition(".")
        return getattr(getattr(client, api_class)(api), method)(**params)

    def client(self, context: str) -> Any:
        if context not in self.clients:
            self.clients[context] = self.factory(context)
        return self.clients[context]


def _plain(value: Any) -> Any:
    """A kubernetes model as the JSON the API server receives; anything else as it is."""
    if hasattr(value, "openapi_types") or hasattr(value, "to_dict"):
        from kubernetes import client

        return client.ApiClient().sanitize_for_serialization(value)
    return value
