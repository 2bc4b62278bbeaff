"""Network faults on the link between two regions; clients still reach both.

Chaos Toolkit actions: each dispatches to the target the configuration names.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.targets.dispatch import run

__all__ = [
    "delay_link",
    "heal_partition",
    "partition_regions",
    "throttle_link",
    "undelay_link",
    "unthrottle_link",
]


def partition_regions(
    a: str, b: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Cut the link between regions `a` and `b` in both directions."""
    return run("partition_regions", configuration, a=a, b=b)


def heal_partition(
    a: str, b: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `partition_regions`; idempotent."""
    return run("heal_partition", configuration, a=a, b=b)


def throttle_link(
    a: str, b: str, kbit: int, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Limit traffic between `a` and `b` to `kbit` kbit/s each way."""
    kbit = int(kbit)
    return run("throttle_link", configuration, a=a, b=b, kbit=kbit)


def unthrottle_link(
    a: str, b: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `throttle_link`; idempotent."""
    return run("unthrottle_link", configuration, a=a, b=b)


def delay_link(
    a: str, b: str, ms: int, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Add `ms` of latency between `a` and `b` each way, where the kernel has netem;
    otherwise fail at once, naming the reason, with nothing applied."""
    ms = int(ms)
    return run("delay_link", configuration, a=a, b=b, ms=ms)


def undelay_link(
    a: str, b: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `delay_link`; idempotent."""
    return run("undelay_link", configuration, a=a, b=b)
