"""Catalog reads: cache-aside through the region's Redis, the database behind it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import psycopg
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from redis.exceptions import RedisError

from aftershock.sandbox.shop.errors import ApiError, Unavailable
from aftershock.sandbox.shop.metrics import ShopMetrics

PRODUCT_TTL = 30
PAGE_TTL = 10


@dataclass
class CacheBreaker:
    """After a cache failure, skip the cache for a while instead of failing every request slowly."""

    cooldown: float = 2.0
    open_until: float = 0.0

    def closed(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + self.cooldown


async def cached(
    cache: aioredis.Redis, breaker: CacheBreaker, metrics: ShopMetrics, key: str
) -> dict[str, Any] | list[Any] | None:
    """The cached JSON under `key`, or None on a miss, a failure or an open breaker."""
    if not breaker.closed():
        return None
    try:
        raw = await cache.get(key)
    except RedisError:
        metrics.cache_errors.labels("get").inc()
        breaker.trip()
        return None
    return json.loads(raw) if raw else None


async def remember(
    cache: aioredis.Redis,
    breaker: CacheBreaker,
    metrics: ShopMetrics,
    key: str,
    value: Any,
    ttl: int,
) -> None:
    if not breaker.closed():
        return
    try:
        await cache.set(key, json.dumps(value), ex=ttl)
    except RedisError:
        metrics.cache_errors.labels("set").inc()
        breaker.trip()


async def product(
    pool: AsyncConnectionPool,
    cache: aioredis.Redis,
    breaker: CacheBreaker,
    metrics: ShopMetrics,
    product_id: int,
) -> dict[str, Any]:
    """One product; 404 when it does not exist."""
    key = f"product:{product_id}"
    hit = await cached(cache, breaker, metrics, key)
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
    await remember(cache, breaker, metrics, key, item, PRODUCT_TTL)
    return item


async def page(
    pool: AsyncConnectionPool,
    cache: aioredis.Redis,
    breaker: CacheBreaker,
    metrics: ShopMetrics,
    limit: int,
    offset: int,
) -> list[Any]:
    """A page of the catalog in id order."""
    key = f"products:{offset}:{limit}"
    hit = await cached(cache, breaker, metrics, key)
    if isinstance(hit, list):
        return hit
    rows = await _query(
        pool,
        metrics,
        "SELECT id, name, price_cents, stock FROM products ORDER BY id LIMIT %s OFFSET %s",
        (limit, offset),
    )
    items = [_as_product(row) for row in rows]
    await remember(cache, breaker, metrics, key, items, PAGE_TTL)
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
