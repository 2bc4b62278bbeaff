"""Checkout: order, order lines and stock decrement in one transaction on the leader.

A retry after a lost connection re-runs the whole transaction with the same
idempotency key: if the lost attempt had committed, the retry finds its order
instead of creating a second one, because the unique key decides.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from aftershock.sandbox.shop.errors import ApiError, Unavailable
from aftershock.sandbox.shop.policies import take_allotment

# Errors after which the same transaction may succeed on a fresh connection:
# lost connections (08*), shutdowns and crashes (57P*), a demoted leader that
# is now read-only (25006), serialization failures and deadlocks (40*).
RETRYABLE_SQLSTATE_PREFIXES = ("08", "57P", "25006", "40001", "40P01")


def fingerprint(lines: list[tuple[int, int]]) -> str:
    """What the key promises: the same key must always carry the same order."""
    return hashlib.sha256(json.dumps(lines).encode()).hexdigest()


def order_event(
    key: str, order_id: int, region: str, total_cents: int, created_at: str
) -> dict[str, Any]:
    """The event an order publishes: its idempotency key identifies it everywhere."""
    return {
        "key": key,
        "order_id": order_id,
        "region": region,
        "total_cents": total_cents,
        "created_at": created_at,
    }


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate or ""
        return isinstance(exc, psycopg.OperationalError) or state.startswith(
            RETRYABLE_SQLSTATE_PREFIXES
        )
    return False


async def checkout(
    pool: AsyncConnectionPool,
    key: str,
    lines: list[tuple[int, int]],
    region: str,
    retry_seconds: float,
    outbox: bool = True,
    inventory: str = "lww",
) -> tuple[int, dict[str, Any]]:
    """Place the order for `key` once; return (HTTP status, order).

    With `outbox`, the order's event is written to the outbox in the same
    transaction, so it exists exactly when the order does. `inventory`
    says which row a sale decrements (`aftershock.sandbox.shop.policies`).
    """
    deadline = time.monotonic() + retry_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _checkout_once(pool, key, lines, region, outbox, inventory)
        except (psycopg.Error, PoolTimeout) as exc:
            if not retryable(exc):
                raise
            if time.monotonic() >= deadline:
                raise Unavailable(
                    f"database unavailable after {attempt} attempts; "
                    "retry with the same Idempotency-Key"
                ) from exc
            await asyncio.sleep(min(0.05 * 2**attempt, 0.5))


async def _checkout_once(
    pool: AsyncConnectionPool,
    key: str,
    lines: list[tuple[int, int]],
    region: str,
    outbox: bool,
    inventory: str,
) -> tuple[int, dict[str, Any]]:
    print_ = fingerprint(lines)
    async with pool.connection() as conn:
        try:
            return await _place(conn, key, lines, region, print_, outbox, inventory)
        except psycopg.errors.ReadOnlySqlTransaction:
            # Connected to a leader that was demoted: drop this connection so
            # the pool reconnects through target_session_attrs=read-write.
            await conn.close()
            raise


async def _place(
    conn: psycopg.AsyncConnection[Any],
    key: str,
    lines: list[tuple[int, int]],
    region: str,
    print_: str,
    outbox: bool,
    inventory: str = "lww",
) -> tuple[int, dict[str, Any]]:
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO orders (idempotency_key, fingerprint, region) VALUES (%s, %s, %s)"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at",
            (key, print_, region),
        )
        row = await cur.fetchone()
        if row is None:
            return 200, await _existing(conn, key, print_)
        order_id, created_at = row
        total = 0
        items = []
        for product_id, quantity in lines:
            if inventory == "delta":
                price = await take_allotment(conn, product_id, quantity, region)
            else:
                price = await _take_stock(conn, product_id, quantity)
            total += price * quantity
            items.append({"product_id": product_id, "quantity": quantity, "price_cents": price})
            await conn.execute(
                "INSERT INTO order_lines (order_id, product_id, quantity, price_cents)"
                " VALUES (%s, %s, %s, %s)",
                (order_id, product_id, quantity, price),
            )
        await conn.execute("UPDATE orders SET total_cents = %s WHERE id = %s", (total, order_id))
        if outbox:
            event = order_event(key, order_id, region, total, created_at.isoformat())
            await conn.execute(
                "INSERT INTO outbox (idempotency_key, region, payload) VALUES (%s, %s, %s)",
                (key, region, Jsonb(event)),
            )
    return 201, {
        "order_id": order_id,
        "region": region,
        "total_cents": total,
        "items": items,
        "created_at": created_at.isoformat(),
    }


async def _take_stock(conn: psycopg.AsyncConnection[Any], product_id: int, quantity: int) -> int:
    """Decrement stock and return the unit price; 409 when the stock check refuses.

    The check is the table's `stock >= 0` constraint and nothing else: one
    rule for both regions' shops, enforced where the row is locked.
    """
    try:
        cur = await conn.execute(
            "UPDATE products SET stock = stock - %s WHERE id = %s RETURNING price_cents",
            (quantity, product_id),
        )
    except psycopg.errors.CheckViolation:
        raise ApiError(
            409, "insufficient_stock", f"product {product_id}: fewer than {quantity} left"
        ) from None
    row = await cur.fetchone()
    if row is None:
        raise ApiError(422, "unknown_product", f"product {product_id} does not exist")
    return int(row[0])


async def _existing(conn: psycopg.AsyncConnection[Any], key: str, print_: str) -> dict[str, Any]:
    cur = await conn.execute(
        "SELECT id, fingerprint, region, total_cents, created_at FROM orders"
        " WHERE idempotency_key = %s",
        (key,),
    )
    row = await cur.fetchone()
    if row is None:  # cannot happen: the conflicting row is committed and visible
        raise Unavailable("order for this key vanished; retry")
    if row[1] != print_:
        raise ApiError(
            422, "idempotency_key_reused", "this Idempotency-Key was used for a different order"
        )
    order = await fetch(conn, int(row[0]))
    assert order is not None
    return order


async def fetch(conn: psycopg.AsyncConnection[Any], order_id: int) -> dict[str, Any] | None:
    """One order with its lines, or None."""
    cur = await conn.execute(
        "SELECT id, region, total_cents, created_at FROM orders WHERE id = %s", (order_id,)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    cur = await conn.execute(
        "SELECT product_id, quantity, price_cents FROM order_lines WHERE order_id = %s"
        " ORDER BY product_id",
        (order_id,),
    )
    items = [{"product_id": p, "quantity": q, "price_cents": c} for p, q, c in await cur.fetchall()]
    return {
        "order_id": row[0],
        "region": row[1],
        "total_cents": row[2],
        "items": items,
        "created_at": row[3].isoformat(),
    }
