"""Health probes: is a region serving.

Chaos Toolkit probes, read-only; the experiment's tolerance judges the value.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.config.target import target_name
from aftershock.targets.dispatch import local_sandbox

__all__ = ["region_ready"]


def region_ready(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Whether `region`'s shop is ready and the edge sends it traffic.

    Judge `$.ready` (e.g. tolerance `{"type": "jsonpath", "path": "$.ready",
    "expect": true}`); `shop` and `edge` say which side is not.
    """
    target = target_name(configuration)
    if target != "local":  # aws: Route 53 health check + endpoint; k8s: Deployment + endpoint
        from aftershock.targets.drivers import observe as remote

        return remote(target, "region_ready", configuration, region=region)
    topology = local_sandbox("region_ready", configuration)
    from aftershock.targets.local.observe import region_ready as observe

    return observe(topology, region)
