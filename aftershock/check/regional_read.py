"""Final reads of one region's own database, on any PostgreSQL connection.

The sandbox's two primaries (or its leader and replica, each read
directly) and ADR-037's two Aurora writers are read the same way; each
target decides how to connect. The checkers in `check.convergence`,
`check.cross_region` and `check.registers` judge what these return.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import psycopg

from aftershock.load import history

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


def tables(conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    """table -> primary key -> row (as a list), for every replicated table."""
    return {
        table: {str(row[0]): list(row[1:]) for row in conn.execute(query)}
        for table, query in TABLES.items()
    }


def stock(conn: psycopg.Connection[Any], inventory: str) -> dict[int, tuple[int, int]]:
    """product -> (units stocked, units left by the `inventory` design's own accounting)."""
    query = STOCK["delta" if inventory == "delta" else "row"]
    return {int(p): (int(s), int(left)) for p, s, left in conn.execute(query)}


def order_lines(conn: psycopg.Connection[Any]) -> dict[int, list[tuple[int, int]]]:
    """order id -> [(product, units)], for every order the database holds lines of."""
    lines: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for order_id, product, quantity in conn.execute(
        "SELECT order_id, product_id, quantity FROM order_lines"
    ):
        lines[int(order_id)].append((int(product), int(quantity)))
    return dict(lines)


def orders(conn: psycopg.Connection[Any], prefix: str) -> list[tuple[str, int]]:
    """(idempotency key, order id) of every order of the run (keys with `prefix`)."""
    rows = conn.execute(
        "SELECT idempotency_key, id FROM orders WHERE starts_with(idempotency_key, %s)",
        (prefix,),
    )
    return [(str(k), int(i)) for k, i in rows]


def profiles(conn: psycopg.Connection[Any], prefix: str) -> dict[str, str]:
    """customer -> the profile value the database holds, for the run's customers."""
    rows = conn.execute(
        "SELECT customer, value FROM profiles WHERE starts_with(customer, %s)", (prefix,)
    )
    return {str(c): str(v) for c, v in rows}


def units_sold(
    lines: Mapping[str, dict[int, list[tuple[int, int]]]],
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


def placed_since(
    conn: psycopg.Connection[Any], since: float, settle_s: float
) -> dict[str, list[tuple[str, int]]]:
    """Placing region -> every (key, order id) it placed from `since` until `settle_s` ago.

    The newest `settle_s` seconds are left out: an order that young may
    not have crossed yet even where nothing is cut.
    """
    rows = conn.execute(
        "SELECT region, idempotency_key, id FROM orders WHERE created_at >= to_timestamp(%s)"
        " AND created_at < now() - make_interval(secs => %s) ORDER BY region, id",
        (since, float(settle_s)),
    )
    placed: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for region, key, order_id in rows:
        placed[str(region)].append((str(key), int(order_id)))
    return dict(placed)


def held(conn: psycopg.Connection[Any], orders: list[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of `orders` (key, order id) this database holds."""
    rows = conn.execute(
        "SELECT idempotency_key, id FROM orders WHERE idempotency_key = ANY(%s)",
        ([key for key, _ in orders],),
    )
    return {(str(k), int(i)) for k, i in rows} & set(orders)
