"""ADR-037's write policies, each one a shop setting so each can be judged.

- order keys: `global` (any region accepts any key) or `region` (a key
  names its region as `key@<region>` and only that region accepts it);
- inventory: `lww` and `min` decrement the product's one stock row (the
  database's merge decides what survives), `delta` decrements only the
  region's own allotment row;
- orders: `local` acknowledges once the own region committed, `quorum`
  only once the other region's writer holds the order too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from aftershock.sandbox.shop.errors import ApiError, Unavailable

QUORUM_POLL_S = 0.02


def check_key_scope(key: str, region: str, scope: str) -> None:
    """Refuse, before anything is written, a key this region may not accept.

    421 (Misdirected Request) is a definite answer: nothing was written,
    and the client knows to send the key to the region it names.
    """
    if scope != "region":
        return
    _, at, named = key.rpartition("@")
    if not at:
        raise ApiError(
            422, "unscoped_idempotency_key", "order keys must name their region: <key>@<region>"
        )
    if named != region:
        raise ApiError(
            421, "misdirected_idempotency_key", f"this key belongs to {named}; this is {region}"
        )


async def take_allotment(
    conn: psycopg.AsyncConnection[Any], product_id: int, quantity: int, region: str
) -> int:
    """`delta`: sell from the region's own allotment; return the unit price; 409 when it is spent.

    Only this region ever updates its row, so the other region's
    replicated changes never touch it: the regions' sales commute.
    """
    try:
        cur = await conn.execute(
            "UPDATE stock_allotments SET sold = sold + %s WHERE product_id = %s AND region = %s",
            (quantity, product_id, region),
        )
    except psycopg.errors.CheckViolation:
        raise ApiError(
            409, "insufficient_stock", f"product {product_id}: {region} has fewer than {quantity}"
        ) from None
    if cur.rowcount == 0:
        raise ApiError(422, "unknown_product", f"product {product_id} does not exist")
    cur = await conn.execute("SELECT price_cents FROM products WHERE id = %s", (product_id,))
    row = await cur.fetchone()
    if row is None:
        raise ApiError(422, "unknown_product", f"product {product_id} does not exist")
    return int(row[0])


async def await_quorum(
    peer: AsyncConnectionPool, key: str, order_id: int, peer_region: str, timeout: float
) -> None:
    """`quorum`: return once the other region's writer holds order `order_id` for `key`.

    Otherwise 503: the order is committed here but not acknowledged; the
    client retries with the same key, and is acknowledged once the other
    region holds it (after a partition heals, for instance).
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            async with peer.connection(timeout=max(0.1, deadline - time.monotonic())) as conn:
                cur = await conn.execute("SELECT id FROM orders WHERE idempotency_key = %s", (key,))
                row = await cur.fetchone()
            if row is not None and int(row[0]) == order_id:
                return
            last = "not there yet" if row is None else f"it holds order {row[0]} for this key"
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            last = type(exc).__name__
        if time.monotonic() >= deadline:
            raise Unavailable(
                f"{peer_region} did not confirm the order within {timeout:g} s ({last}); "
                "retry with the same Idempotency-Key"
            )
        await asyncio.sleep(QUORUM_POLL_S)
