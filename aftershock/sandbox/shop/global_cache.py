"""The shop's client of the global catalog cache (ElastiCache Global Datastore's shape).

One Redis per region holds the shared catalog cache: the primary region's
takes writes, the other's is a read-only replica of it. The shop reads its
own region's copy and writes to whichever copy is the primary now, which it
learns from its own copy's `ROLE` every half second (a replica names its
primary; a promoted copy says it is one). After a cache failover the shop
follows the new primary by itself; until it learns it, writes are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

REFRESH_S = 0.5


def client(host: str, port: int, password: str, name: str) -> aioredis.Redis:
    """A client that fails fast: a dead copy costs a request milliseconds, not seconds.

    Named (`CLIENT SETNAME`), so a copy can tell which shop writes to it.
    """
    return aioredis.Redis(
        host=host,
        port=port,
        password=password,
        client_name=name,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )


def writer_name(shop: str) -> str:
    """The client name a shop's catalog writes carry (`shop-taiwan-writer`)."""
    return f"{shop}-writer"


@dataclass
class CacheBreaker:
    """After a cache failure, skip the cache for a while instead of failing every request slowly."""

    cooldown: float = 2.0
    open_until: float = 0.0

    def closed(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + self.cooldown


@dataclass
class GlobalCache:
    """Reads from the local copy, writes to the primary copy it last saw."""

    local_host: str
    port: int
    password: str
    # `shop-<region>`: its reader and writer connections are named after it.
    name: str = "shop"
    local: aioredis.Redis = field(init=False)
    primary_host: str | None = None
    writers: dict[str, aioredis.Redis] = field(default_factory=dict)
    # Reads (the local copy) and writes (the primary, maybe in the other
    # region) fail apart: a write refused after a failover must not stop reads.
    read_breaker: CacheBreaker = field(default_factory=CacheBreaker)
    write_breaker: CacheBreaker = field(default_factory=CacheBreaker)

    def __post_init__(self) -> None:
        self.local = client(self.local_host, self.port, self.password, f"{self.name}-reader")

    def writer(self) -> aioredis.Redis | None:
        """The client of the current primary copy, None while it is not known."""
        if self.primary_host is None:
            return None
        if self.primary_host not in self.writers:
            self.writers[self.primary_host] = client(
                self.primary_host, self.port, self.password, writer_name(self.name)
            )
        return self.writers[self.primary_host]

    async def refresh(self) -> None:
        """Ask the local copy who the primary is; keep the last answer if it does not say."""
        try:
            role = await self.local.execute_command("ROLE")
        except (RedisError, OSError):
            return
        kind = role[0].decode() if isinstance(role[0], bytes) else str(role[0])
        if kind == "master":
            self.primary_host = self.local_host
        elif kind == "slave":
            master = role[1].decode() if isinstance(role[1], bytes) else str(role[1])
            self.primary_host = master or None

    async def follow(self) -> None:
        """Refresh forever (run as a task by the app); a surprise is logged, never fatal."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # noqa: BLE001 - the follower must outlive any one answer
                print(f"shop: catalog cache role not read: {exc!r}", file=sys.stderr)
            await asyncio.sleep(REFRESH_S)

    async def close(self) -> None:
        for conn in [self.local, *self.writers.values()]:
            with contextlib.suppress(RedisError, OSError):
                await conn.aclose()
