"""Each region's own database in the sandbox, read with `aftershock.check.regional_read`.

Multi-writer: each region's primary. Single-writer: the leader and the
replica, each read directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from aftershock.config.topology import REGIONS, Topology
from aftershock.errors import EvidenceMissing
from aftershock.sandbox.endpoints import connect_node
from aftershock.sandbox.shop.schema import DATABASE
from aftershock.sandbox.state import load_credentials, options_of

T = TypeVar("T")


def inventory_policy(topology: Topology) -> str:
    """`lww`, `min` or `delta`: the stock design the sandbox booted with."""
    return str(options_of(topology).get("inventory") or "lww")


def each_region(topology: Topology, read: Callable[[psycopg.Connection[Any]], T]) -> dict[str, T]:
    """region -> `read` of the region's own shop database; EvidenceMissing if one cannot be read."""
    creds = load_credentials(topology)
    found = {}
    for region in REGIONS:
        try:
            with connect_node(topology, region, creds, DATABASE, timeout=5) as conn:
                found[region] = read(conn)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EvidenceMissing(f"could not read {region}'s database: {first}") from exc
    return found
