"""Customer profiles: one register per customer, written in the region that serves the call.

ADR-037 merges concurrent profile writes by last write wins; the shop
itself only upserts, so what survives is the database's merge, and the
lost-update check judges it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from aftershock.sandbox.shop.errors import ApiError, Unavailable
from aftershock.sandbox.shop.metrics import ShopMetrics

MAX_VALUE = 200


def value(body: Any) -> str:
    """The profile's new value: `{"value": "<1-200 printable characters>"}`."""
    text = body.get("value") if isinstance(body, dict) else None
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_VALUE or not text.isprintable():
        raise ApiError(422, "invalid_profile", 'a profile is {"value": "<1-200 characters>"}')
    return text


async def write(
    pool: AsyncConnectionPool, metrics: ShopMetrics, customer: str, text: str, region: str
) -> dict[str, Any]:
    """Set the customer's profile (one statement, committed before the answer)."""
    try:
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                """
                INSERT INTO profiles (customer, value, region, updated_at)
                VALUES (%s, %s, %s, clock_timestamp())
                ON CONFLICT (customer) DO UPDATE
                    SET value = EXCLUDED.value, region = EXCLUDED.region,
                        updated_at = EXCLUDED.updated_at
                RETURNING updated_at
                """,
                (customer, text, region),
            )
            row = await cur.fetchone()
    except (psycopg.Error, PoolTimeout, OSError) as exc:
        metrics.db_errors.labels("write").inc()
        raise Unavailable("profile database unavailable") from exc
    assert row is not None
    return {"customer": customer, "value": text, "region": region,
            "updated_at": row[0].isoformat()}  # fmt: skip


async def read(pool: AsyncConnectionPool, metrics: ShopMetrics, customer: str) -> dict[str, Any]:
    """The customer's profile as the region's own database holds it; 404 if it has none."""
    try:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT value, region, updated_at FROM profiles WHERE customer = %s", (customer,)
            )
            row = await cur.fetchone()
    except (psycopg.Error, PoolTimeout, OSError) as exc:
        metrics.db_errors.labels("read").inc()
        raise Unavailable("profile database unavailable") from exc
    if row is None:
        raise ApiError(404, "unknown_customer", f"no profile for {customer}")
    return {"customer": customer, "value": row[0], "region": row[1],
            "updated_at": row[2].isoformat()}  # fmt: skip
