"""aftershock: chaos-engineering and resilience harness for a two-region platform."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["FAULT_MODULES", "PROBE_MODULES", "__version__", "discover"]

FAULT_MODULES = (
    "aftershock.faults.region",
    "aftershock.faults.health_check",
    "aftershock.faults.network",
    "aftershock.faults.database",
    "aftershock.faults.cache",
    "aftershock.faults.service",
    "aftershock.faults.events",
    "aftershock.faults.heal",
)
"""The Chaos Toolkit activity modules of the fault library."""

PROBE_MODULES = (
    "probes.health",
    "probes.traffic",
    "probes.replication",
    "probes.recovery",
    "probes.orders",
    "probes.inventory",
    "probes.events",
    "probes.cache",
    "probes.drill",
)
"""The Chaos Toolkit probe modules (top-level `probes/`)."""


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit extension discovery (`chaos discover aftershock`): faults and probes."""
    from chaoslib.discovery.discover import (
        discover_actions,
        discover_probes,
        initialize_discovery_result,
    )

    discovery = initialize_discovery_result("aftershock", __version__, "aftershock")
    for module in FAULT_MODULES:
        discovery["activities"].extend(discover_actions(module))
    for module in PROBE_MODULES:
        discovery["activities"].extend(discover_probes(module))
    return discovery
