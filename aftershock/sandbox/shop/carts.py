"""Carts, kept in the region's Redis (a region that loses its Redis loses its carts)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from aftershock.sandbox.shop.errors import Unavailable
from aftershock.sandbox.shop.metrics import ShopMetrics

CART_TTL = 24 * 3600


async def add(
    cache: aioredis.Redis, metrics: ShopMetrics, cart_id: str, product_id: int, quantity: int
) -> dict[str, int]:
    """Add `quantity` of a product; return the whole cart."""
    key = f"cart:{cart_id}"
    try:
        async with cache.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, str(product_id), quantity)
            pipe.expire(key, CART_TTL)
            pipe.hgetall(key)
            *_, items = await pipe.execute()
    except RedisError as exc:
        metrics.cache_errors.labels("cart").inc()
        raise Unavailable("cart store unavailable") from exc
    return {k.decode(): int(v) for k, v in items.items()}


async def get(cache: aioredis.Redis, metrics: ShopMetrics, cart_id: str) -> dict[str, int]:
    try:
        items = await cache.hgetall(f"cart:{cart_id}")
    except RedisError as exc:
        metrics.cache_errors.labels("cart").inc()
        raise Unavailable("cart store unavailable") from exc
    return {k.decode(): int(v) for k, v in items.items()}
