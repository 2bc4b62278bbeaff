"""The shop's HTTP API (Starlette)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aftershock.config.topology import other_region
from aftershock.sandbox.shop import carts, catalog, events, orders, policies, profiles, validation
from aftershock.sandbox.shop.config import ShopConfig
from aftershock.sandbox.shop.errors import ApiError, Unavailable
from aftershock.sandbox.shop.global_cache import GlobalCache
from aftershock.sandbox.shop.metrics import MetricsMiddleware, ShopMetrics
from aftershock.sandbox.shop.runtime import CapacityMiddleware, RuntimeSettings, TokenBucket

log = logging.getLogger("aftershock.shop")

# Each dependency gets half a second: the whole answer stays inside the
# edge's 1 s check timeout even when both dependencies hang.
READINESS_TIMEOUT = 0.5


@dataclass
class Dependencies:
    """What the handlers use, created in the app's lifespan."""

    config: ShopConfig
    metrics: ShopMetrics
    writes: AsyncConnectionPool
    reads: AsyncConnectionPool
    # The region's own Redis: carts (regional, as ADR-037 keeps them).
    cache: aioredis.Redis
    # The global catalog cache: the local copy for reads, the primary for writes.
    catalog: GlobalCache
    # Only in the `direct` event mode: the shop publishes events itself.
    publisher: events.DirectPublisher | None = None
    # Only with `quorum` orders: the other region's writer, read to confirm an order.
    peer: AsyncConnectionPool | None = None
    # What SIGHUP reloads: capacity, the checkout switch, the planted bugs.
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    # Only with `catalog_stale_s` set: the shop's own stale copy of products it served.
    local_catalog: dict[int, tuple[float, Any]] = field(default_factory=dict)


def deps(request: Request) -> Dependencies:
    return request.app.state.deps


def served(body: Any, status: int, region: str) -> JSONResponse:
    """A JSON response that says which region served it."""
    return JSONResponse(body, status_code=status, headers={"X-Served-By": region})


async def list_products(request: Request) -> JSONResponse:
    d = deps(request)
    limit = _query_int(request, "limit", 20, 1, 100)
    offset = _query_int(request, "offset", 0, 0, 10_000_000)
    items = await catalog.page(d.reads, d.catalog, d.metrics, limit, offset)
    return served({"items": items, "limit": limit, "offset": offset}, 200, d.config.region)


async def get_product(request: Request) -> JSONResponse:
    d = deps(request)
    pid = validation.product_id(request.path_params["product_id"])
    stale_s = d.runtime.catalog_stale_s
    kept = d.local_catalog.get(pid) if stale_s > 0 else None
    if kept is not None and time.monotonic() - kept[0] < stale_s:
        return served(kept[1], 200, d.config.region)  # the planted bug: an old copy
    item = await catalog.product(d.reads, d.catalog, d.metrics, pid)
    if stale_s > 0:
        d.local_catalog[pid] = (time.monotonic(), item)
    return served(item, 200, d.config.region)


async def add_to_cart(request: Request) -> JSONResponse:
    d = deps(request)
    cart_id = validation.cart_id(request.path_params["cart_id"])
    product_id, quantity = validation.cart_item(
        await validation.read_json(request, d.config.max_body_bytes)
    )
    await catalog.product(d.reads, d.catalog, d.metrics, product_id)  # 404 if unknown
    items = await carts.add(d.cache, d.metrics, cart_id, product_id, quantity)
    return served({"cart_id": cart_id, "items": items}, 200, d.config.region)


async def get_cart(request: Request) -> JSONResponse:
    d = deps(request)
    cart_id = validation.cart_id(request.path_params["cart_id"])
    items = await carts.get(d.cache, d.metrics, cart_id)
    return served({"cart_id": cart_id, "items": items}, 200, d.config.region)


async def create_order(request: Request) -> JSONResponse:
    d = deps(request)
    if not d.runtime.checkout_enabled:
        raise ApiError(503, "checkout_disabled", f"checkout is disabled in {d.config.region}")
    key = validation.idempotency_key(request)
    lines = validation.order_lines(await validation.read_json(request, d.config.max_body_bytes))
    policies.check_key_scope(key, d.config.region, d.config.order_keys)
    outbox = d.config.events == "outbox"
    status, order = await orders.checkout(
        d.writes,
        key,
        lines,
        d.config.region,
        d.config.checkout_retry_seconds,
        outbox,
        d.config.inventory,
    )
    if status == 201 and d.publisher is not None:
        await d.publisher.publish(key, order)
    if d.peer is not None:
        peer_region = other_region(d.config.region)
        await policies.await_quorum(
            d.peer, key, int(order["order_id"]), peer_region, d.config.quorum_timeout_seconds
        )
    return served(order, status, d.config.region)


async def put_profile(request: Request) -> JSONResponse:
    d = deps(request)
    customer = validation.customer_id(request.path_params["customer"])
    value = profiles.value(await validation.read_json(request, d.config.max_body_bytes))
    profile = await profiles.write(d.writes, d.metrics, customer, value, d.config.region)
    return served(profile, 200, d.config.region)


async def get_profile(request: Request) -> JSONResponse:
    d = deps(request)
    customer = validation.customer_id(request.path_params["customer"])
    profile = await profiles.read(d.reads, d.metrics, customer)
    return served(profile, 200, d.config.region)


async def get_order(request: Request) -> JSONResponse:
    d = deps(request)
    raw = request.path_params["order_id"]
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise ApiError(404, "unknown_order", f"no order {raw!r}")
    try:
        async with d.writes.connection(timeout=2) as conn:
            order = await orders.fetch(conn, int(raw))
    except (psycopg.Error, PoolTimeout) as exc:
        d.metrics.db_errors.labels("read").inc()
        raise Unavailable("order database unavailable") from exc
    if order is None:
        raise ApiError(404, "unknown_order", f"no order {raw}")
    return served(order, 200, d.config.region)


async def liveness(request: Request) -> JSONResponse:
    return served({"status": "alive"}, 200, deps(request).config.region)


async def readiness(request: Request) -> JSONResponse:
    """200 only when the dependencies the policy requires answer, over their real paths."""
    d = deps(request)
    database, cache, broker = await asyncio.gather(
        _database_answers(d), _cache_answers(d), _broker_answers(d)
    )
    required = {"database": database}
    if d.config.readiness_policy == "strict":
        required["cache"] = cache
        if broker is not None:
            required["broker"] = broker
    ready = all(required.values())
    body = {
        "ready": ready,
        "policy": d.config.readiness_policy,
        "database": database,
        "cache": cache,
        "broker": broker,
        "runtime": d.runtime.as_dict(),
    }
    return served(body, 200 if ready else 503, d.config.region)


async def metrics(request: Request) -> Response:
    return Response(
        deps(request).metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


async def _database_answers(d: Dependencies) -> bool:
    try:
        async with d.writes.connection(timeout=READINESS_TIMEOUT) as conn:
            await asyncio.wait_for(conn.execute("SELECT 1"), READINESS_TIMEOUT)
        return True
    except (psycopg.Error, PoolTimeout, TimeoutError, OSError):
        d.metrics.db_errors.labels("readiness").inc()
        return False


async def _cache_answers(d: Dependencies) -> bool:
    try:
        return bool(await asyncio.wait_for(d.cache.ping(), READINESS_TIMEOUT))
    except (RedisError, TimeoutError, OSError):
        d.metrics.cache_errors.labels("readiness").inc()
        return False


async def _broker_answers(d: Dependencies) -> bool | None:
    """True when the region's broker greets a client (its INFO line); None if it has none."""
    if not d.config.broker_host:
        return None
    return await events.broker_greets(d.config.broker_host, d.config.broker_port, READINESS_TIMEOUT)


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(422, "invalid_query", f"{name} must be an integer in {low}..{high}")
    return int(raw)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    response = exc.response()
    response.headers["X-Served-By"] = request.app.state.deps.config.region
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": code, "message": exc.detail}, status_code=exc.status_code)


async def _dependency_error(request: Request, exc: Exception) -> Response:
    """A database or cache failure nobody handled: 503, never a 500 with a trace."""
    request.app.state.deps.metrics.db_errors.labels("unhandled").inc()
    return Unavailable(f"dependency failed: {type(exc).__name__}").response()


def create_app(config: ShopConfig, runtime_path: Path | None = None) -> Starlette:
    """The shop for `config`; pools open in the lifespan and never block start-up.

    `runtime_path` holds the settings SIGHUP reloads (`runtime.RuntimeSettings`).
    """
    shop_metrics = ShopMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        writes = AsyncConnectionPool(
            config.write_dsn,
            min_size=2,
            max_size=20,
            timeout=3.0,
            check=AsyncConnectionPool.check_connection,
            open=False,
        )
        reads = AsyncConnectionPool(
            config.read_dsn,
            min_size=2,
            max_size=10,
            timeout=3.0,
            kwargs={"autocommit": True},
            open=False,
        )
        await writes.open(wait=False)
        await reads.open(wait=False)
        cache = aioredis.Redis(
            host=config.redis_host,
            port=config.redis_port,
            password=config.redis_password,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            # No client-side retries: a dead cache must cost a request
            # milliseconds, not seconds of backoff (the breaker does the rest).
            retry=Retry(NoBackoff(), 0),
        )
        publisher = events.DirectPublisher(config) if config.events == "direct" else None
        shared = GlobalCache(
            config.catalog_host, config.catalog_port, config.redis_password, f"shop-{config.region}"
        )
        peer = None
        if config.orders_policy == "quorum":
            peer = AsyncConnectionPool(
                config.peer_dsn, min_size=1, max_size=10, timeout=3.0,
                kwargs={"autocommit": True}, open=False,
            )  # fmt: skip
            await peer.open(wait=False)
        await shared.refresh()
        follower = asyncio.create_task(shared.follow())
        runtime = RuntimeSettings.load(runtime_path)
        app.state.deps = Dependencies(
            config, shop_metrics, writes, reads, cache, shared, publisher, peer, runtime
        )
        app.state.capacity = TokenBucket(runtime.capacity_rps)
        app.state.latency_ms = runtime.latency_ms
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, _reload, app, runtime_path)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            follower.cancel()
            await shared.close()
            if publisher is not None:
                await publisher.close()
            await cache.aclose()
            if peer is not None:
                await peer.close(timeout=2)
            await writes.close(timeout=2)
            await reads.close(timeout=2)

    routes = [
        Route("/products", list_products, methods=["GET"]),
        Route("/products/{product_id}", get_product, methods=["GET"]),
        Route("/carts/{cart_id}/items", add_to_cart, methods=["POST"]),
        Route("/carts/{cart_id}", get_cart, methods=["GET"]),
        Route("/orders", create_order, methods=["POST"]),
        Route("/orders/{order_id}", get_order, methods=["GET"]),
        Route("/profiles/{customer}", put_profile, methods=["PUT"]),
        Route("/profiles/{customer}", get_profile, methods=["GET"]),
        Route("/health/liveness", liveness, methods=["GET"]),
        Route("/health/readiness", readiness, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(MetricsMiddleware, metrics=shop_metrics),
            Middleware(CapacityMiddleware, region=config.region),
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            psycopg.Error: _dependency_error,
            PoolTimeout: _dependency_error,
            RedisError: _dependency_error,
        },
    )


def _reload(app: Starlette, path: Path | None) -> None:
    """SIGHUP: take the runtime settings from `path`; a bad file keeps the ones in force."""
    d: Dependencies = app.state.deps
    try:
        runtime = RuntimeSettings.load(path)
    except (OSError, ValueError, TypeError) as exc:
        log.warning("SIGHUP: kept the runtime settings, %s is unusable: %s", path, exc)
        return
    d.runtime = runtime
    d.local_catalog.clear()
    app.state.capacity = TokenBucket(runtime.capacity_rps)
    app.state.latency_ms = runtime.latency_ms
    log.warning("SIGHUP: runtime settings now %s", runtime.as_dict())
