"""Final reads of each region's own database, on either topology.

Multi-writer: each region's primary. Single-writer: the leader and the
replica, each read directly. The checkers in `aftershock.check.convergence`,
`aftershock.check.cross_region` and `aftershock.check.registers` judge
what these return; nothing here decides anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg

from aftershock.config.topology import REGIONS, Topology
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.sandbox.endpoints import connect_node
from aftershock.sandbox.shop.schema import DATABASE
from aftershock.sandbox.state import load_credentials, options_of

TABLES = {
    "products": "SELECT id::text, stock FROM products",
    "stock_allotments": "SELECT product_id || '/' || region, sold FROM stock_allotments",
    "orders": "SELECT idempotency_key, id, region, fingerprint, total_cents FROM orders",
    "order_lines": "SELECT order_id || '/' || product_id, quantity FROM order_lines",
    "profiles": "SELECT customer, value FROM profiles",
}
"""What must be identical in both regions once replication converged (the outbox is regional)."""

STOCK = {
    # The design's own accounting of what is left: the one row, or the allotments.
    "row": "SELECT id, stocked, stock FROM products",
    "delta": "SELECT product_id, sum(allotted)::int, sum(allotted - sold)::int"
    " FROM stock_allotments GROUP BY product_id",
}


def inventory_policy(topology: Topology) -> str:
    """`lww`, `min` or `delta`: the stock design the sandbox booted with."""
    return str(options_of(topology).get("inventory") or "lww")


def _each_region(topology: Topology, read: Any) -> dict[str, Any]:
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


def tables(topology: Topology) -> dict[str, dict[str, dict[str, Any]]]:
    """region -> table -> primary key -> row (as a list), for every replicated table."""

    def read(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
        return {
            table: {str(row[0]): list(row[1:]) for row in conn.execute(query)}
            for table, query in TABLES.items()
        }

    return _each_region(topology, read)


def stock(topology: Topology) -> dict[str, dict[int, tuple[int, int]]]:
    """region -> product -> (units stocked, units left by the design's own accounting)."""
    query = STOCK["delta" if inventory_policy(topology) == "delta" else "row"]

    def read(conn: psycopg.Connection[Any]) -> dict[int, tuple[int, int]]:
        return {int(p): (int(s), int(left)) for p, s, left in conn.execute(query)}

    return _each_region(topology, read)


def order_lines(topology: Topology) -> dict[str, dict[int, list[tuple[int, int]]]]:
    """region -> order id -> [(product, units)], for every order the region holds lines of."""

    def read(conn: psycopg.Connection[Any]) -> dict[int, list[tuple[int, int]]]:
        lines: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for order_id, product, quantity in conn.execute(
            "SELECT order_id, product_id, quantity FROM order_lines"
        ):
            lines[int(order_id)].append((int(product), int(quantity)))
        return dict(lines)

    return _each_region(topology, read)


def orders(topology: Topology, prefix: str) -> dict[str, list[tuple[str, int]]]:
    """region -> (idempotency key, order id) of every order of the run (keys with `prefix`)."""

    def read(conn: psycopg.Connection[Any]) -> list[tuple[str, int]]:
        rows = conn.execute(
            "SELECT idempotency_key, id FROM orders WHERE starts_with(idempotency_key, %s)",
            (prefix,),
        )
        return [(str(k), int(i)) for k, i in rows]

    return _each_region(topology, read)


def profiles(topology: Topology, prefix: str) -> dict[str, dict[str, str]]:
    """region -> customer -> the profile value the region holds, for the run's customers."""

    def read(conn: psycopg.Connection[Any]) -> dict[str, str]:
        rows = conn.execute(
            "SELECT customer, value FROM profiles WHERE starts_with(customer, %s)", (prefix,)
        )
        return {str(c): str(v) for c, v in rows}

    return _each_region(topology, read)


def units_sold(
    lines: dict[str, dict[int, list[tuple[int, int]]]],
    records: Iterable[dict[str, Any]],
) -> dict[int, int]:
    """Units sold per product: every order either region holds lines of, plus every
    acknowledged order of the history that neither region holds (its items as invoked).

    A sale the customer was told about counts, whatever replication later kept.
    """
    held: dict[int, list[tuple[int, int]]] = {}
    for by_order in lines.values():
        held.update(by_order)
    sold: dict[int, int] = defaultdict(int)
    for items in held.values():
        for product, units in items:
            sold[product] += units
    shape = history.operations(records)
    for op in shape.operations.values():
        if op.completion is None or op.outcome != history.OK:
            continue
        order_id = int((op.completion.get("value") or {}).get("order_id") or 0)
        if order_id in held:
            continue
        for item in (op.invoke.get("value") or {}).get("items") or []:
            sold[int(item["product_id"])] += int(item.get("quantity", 1))
    return dict(sold)
