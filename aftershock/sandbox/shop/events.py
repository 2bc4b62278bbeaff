"""The shop's side of the event path: broker readiness, and the `direct` mode's publisher.

In the design (`events: outbox`) the shop never talks to the broker for an
order: the outbox row is written with the order, and the relay publishes
it. The `direct` mode publishes after the commit instead, and swallows a
failed publish: the dual write that loses events whenever the broker is
away. It exists so the total-queue check can be shown catching that loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any

import nats

from aftershock.sandbox.shop.config import ShopConfig

PUBLISH_TIMEOUT_S = 0.5


async def broker_greets(host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection to the broker is answered with its INFO line."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
        return line.startswith(b"INFO ")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout)


class DirectPublisher:
    """Publishes an order's event after its commit; a failure is logged and forgotten."""

    def __init__(self, config: ShopConfig) -> None:
        self.config = config
        self.client: nats.NATS | None = None

    async def publish(self, key: str, order: dict[str, Any]) -> None:
        """Publish the order's event, giving up after half a second (the order stands)."""
        event = {"key": key, **{k: order.get(k) for k in ("order_id", "region", "total_cents")}}
        try:
            await asyncio.wait_for(self._publish(key, event), PUBLISH_TIMEOUT_S)
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            print(f"shop: event for {key} not published: {exc!r}", file=sys.stderr)
            await self.close()
            self.client = None

    async def _publish(self, key: str, event: dict[str, Any]) -> None:
        if self.client is None or self.client.is_closed:
            self.client = await nats.connect(
                self.config.broker_url, connect_timeout=PUBLISH_TIMEOUT_S,
                allow_reconnect=False, max_reconnect_attempts=0,
                error_cb=_quiet,
            )  # fmt: skip
        js = self.client.jetstream(timeout=PUBLISH_TIMEOUT_S)
        await js.publish(
            f"orders.{self.config.region}", json.dumps(event).encode(),
            headers={"Nats-Msg-Id": key},
        )  # fmt: skip

    async def close(self) -> None:
        if self.client is not None and not self.client.is_closed:
            with contextlib.suppress(Exception):
                await self.client.close()


async def _quiet(exc: Exception) -> None:
    """nats-py logs every failed connect with a trace; `publish` already says it in one line."""
