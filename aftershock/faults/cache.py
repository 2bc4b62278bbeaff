"""Cache faults: each region's Redis, and the global catalog cache.

Chaos Toolkit actions: each dispatches to the target the configuration names.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.targets.dispatch import run

__all__ = [
    "fail_back_cache",
    "fail_over_cache",
    "kill_cache",
    "pause_cache",
    "start_cache",
    "unpause_cache",
]


def kill_cache(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """SIGKILL the Redis of `region`."""
    return run("kill_cache", configuration, region=region)


def start_cache(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start the Redis of `region` and wait until it answers; idempotent."""
    return run("start_cache", configuration, region=region)


def pause_cache(
    region: str, ms: int, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Freeze all clients of the Redis of `region` for `ms` milliseconds."""
    ms = int(ms)
    return run("pause_cache", configuration, region=region, ms=ms)


def unpause_cache(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """End `pause_cache` early; idempotent."""
    return run("unpause_cache", configuration, region=region)


def fail_over_cache(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Promote `region`'s copy of the global catalog cache (Global Datastore failover)."""
    return run("fail_over_cache", configuration, region=region)


def fail_back_cache(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `fail_over_cache`: the steady-state primary region leads again; idempotent."""
    return run("fail_back_cache", configuration, region=region)
