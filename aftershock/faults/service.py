"""Service faults: each region's shop.

Chaos Toolkit actions: each dispatches to the target the configuration names.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.targets.dispatch import run

__all__ = ["kill_shop", "start_shop"]


def kill_shop(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """SIGKILL the shop of `region`."""
    return run("kill_shop", configuration, region=region)


def start_shop(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start the shop of `region` and wait until it is ready; idempotent."""
    return run("start_shop", configuration, region=region)
