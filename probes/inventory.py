"""Inventory probes: was anything sold that was not in stock.

Chaos Toolkit probe, read-only: one aggregate query on the leader.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.config.target import target_name
from aftershock.targets.dispatch import local_sandbox

__all__ = ["no_oversell"]


def no_oversell(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Per product, units sold (order lines) against units stocked and stock left.

    Judge `$.valid`: false names each oversold product (sold beyond what
    was stocked, or stock below zero) and each with phantom stock (more
    left than stocked minus sold: a lost stock update that will oversell).
    """
    target = target_name(configuration)
    if target != "local":  # Aurora over SQL (database.sql of the target file)
        from aftershock.targets.drivers import observe

        return observe(target, "no_oversell", configuration)
    topology = local_sandbox("no_oversell", configuration)
    from aftershock.targets.local.final_reads import no_oversell as judge

    return judge(topology).as_dict()
