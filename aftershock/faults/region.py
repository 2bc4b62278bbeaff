"""Region faults: a region cut off from everything, or every process in it killed.

Chaos Toolkit actions: each dispatches to the target the configuration names.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.targets.dispatch import run

__all__ = ["crash_region", "isolate_region", "recover_region", "restore_region"]


def isolate_region(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Blackhole everything in and out of `region` (taiwan, tokyo or witness)."""
    return run("isolate_region", configuration, region=region)


def restore_region(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `isolate_region`; idempotent."""
    return run("restore_region", configuration, region=region)


def crash_region(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """SIGKILL every process of `region`, as a power loss would."""
    return run("crash_region", configuration, region=region)


def recover_region(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start every process of `region` again and wait until each is ready; idempotent."""
    return run("recover_region", configuration, region=region)
