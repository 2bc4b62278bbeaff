"""The DR drill's traffic failover: a region's health check failed while the region keeps running.

Chaos Toolkit actions: each dispatches to the target the configuration
names. On aws the region's Route 53 health check is inverted
(`update_health_check(Inverted=True)`); in the sandbox the edge's check of
the region's shop is marked failed through HAProxy's runtime API.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.targets.dispatch import run

__all__ = ["fail_health_check", "restore_health_check"]


def fail_health_check(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Make the traffic router take `region` (taiwan, tokyo) for unhealthy; nothing stops."""
    return run("fail_health_check", configuration, region=region)


def restore_health_check(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `fail_health_check`: the router judges `region` by its real health again; idempotent."""
    return run("restore_health_check", configuration, region=region)
