"""Catalog reads: cache-aside through the global catalog cache, the database behind it.

Reads come from the region's copy of the global cache; what a miss loads
from the database is written to the primary copy, and reaches the other
region by the cache's own replication.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from redis.exceptions import RedisError

from aftershock.sandbox.shop.errors import ApiError, Unavailable
from aftershock.sandbox.shop.global_cache import GlobalCache
from aftershock.sandbox.shop.metrics import ShopMetrics

PRODUCT_TTL = 30
PAGE_TTL = 10


async def cached(
    cache: GlobalCache, metrics: ShopMetrics, key: str
) -> dict[str, Any] | list[Any] | None:
    """The cached JSON under `key` in the local copy; None on a miss, a failure, an open breaker."""
    if not cache.read_breaker.closed():
        return None
    try:
        raw = await cache.local.get(key)
    except RedisError:
        metrics.cache_errors.labels("get").inc()
        cache.read_breaker.trip()
        return None
    return json.loads(raw) if raw else None


async def remember(
    cache: GlobalCache, metrics: ShopMetrics, key: str, value: Any, ttl: int
) -> None:
    """Write `value` to the primary copy; skipped while the primary is unknown.

    A failed write (a copy demoted since the last look answers READONLY)
    asks the local copy who leads now, so the next write follows a failover
    at once; reads have their own breaker and keep using the local copy.
    """
    writer = cache.writer()
    if writer is None or not cache.write_breaker.closed():
        return
    try:
        await writer.set(key, json.dumps(value), ex=ttl)
    except RedisError:
        metrics.cache_errors.labels("set").inc()
        cache.write_breaker.trip()
        await cache.refresh()


async def product(
    pool: AsyncConnectionPool,
    cache: GlobalCache,
    metrics: ShopMetrics,
    product_id: int,
) -> dict[str, Any]:
    """One product; 404 when it does not exist."""
    key = f"product:{product_id}"
    hit = await cached(cache, metrics, key)
    if isinstance(hit, dict):
        return hit
    rows = await _query(
        pool,
        metrics,
        "SELECT id, name, price_cents, stock FROM products WHERE id = %s",
        (product_id,),
    )
    if not rows:
        raise ApiError(404, "unknown_product", f"no product {product_id}")
    item = _as_product(rows[0])
    await remember(cache, metrics, key, item, PRODUCT_TTL)
    return item


async def page(
    pool: AsyncConnectionPool,
    cache: GlobalCache,
    metrics: ShopMetrics,
    limit: int,
    offset: int,
) -> list[Any]:
    """A page of the catalog in id order."""
    key = f"products:{offset}:{limit}"
    hit = await cached(cache, metrics, key)
    if isinstance(hit, list):
        return hit
    rows = await _query(
        pool,
        metrics,
        "SELECT id, name, price_cents, stock FROM products ORDER BY id LIMIT %s OFFSET %s",
        (limit, offset),
    )
    items = [_as_product(row) for row in rows]
    await remember(cache, metrics, key, items, PAGE_TTL)
    return items


async def _query(
    pool: AsyncConnectionPool, metrics: ShopMetrics, query: str, params: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    try:
        async with pool.connection() as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall()
    except (psycopg.Error, OSError) as exc:
        metrics.db_errors.labels("read").inc()
        raise Unavailable("catalog database unavailable") from exc


def _as_product(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "name": row[1], "price_cents": row[2], "stock": row[3]}
