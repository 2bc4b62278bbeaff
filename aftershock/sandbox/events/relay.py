"""The outbox relay: publishes the region's outbox rows to its broker, then deletes them.

The shop writes an order and its outbox row in one transaction, so an
acknowledged order always has a row here; the relay turns rows into events
at least once, and the row's idempotency key as `Nats-Msg-Id` makes
JetStream drop the copy a retry would add (within the stream's duplicate
window). A row leaves the outbox only after the broker acknowledged it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import nats
import psycopg
from nats.js import JetStreamContext

from aftershock.sandbox.events.config import EventsConfig

PUBLISH_TIMEOUT_S = 2.0
RETRY_PAUSE_S = 0.5


async def run(config: EventsConfig) -> None:
    """Relay forever; every failure (database, broker) is retried, never fatal."""
    nc = await connect_broker(config, f"relay-{config.region}")
    js = nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
    conn: psycopg.AsyncConnection[Any] | None = None
    while True:
        try:
            if conn is None or conn.closed:
                conn = await psycopg.AsyncConnection.connect(config.write_dsn)
            sent = await relay_batch(conn, js, config)
        except (psycopg.Error, OSError, nats.errors.Error) as exc:
            print(f"relay {config.region}: {type(exc).__name__}: {exc}", file=sys.stderr)
            if conn is not None and not conn.closed:
                await conn.close()
            conn = None
            await asyncio.sleep(RETRY_PAUSE_S)
            continue
        if sent < config.batch:
            await asyncio.sleep(config.poll_seconds)


async def connect_broker(config: EventsConfig, name: str) -> nats.NATS:
    """Connect to the region's broker as `name`, retrying until it answers; reconnect forever.

    The name is how the broker's /connz (and so the sandbox's readiness and
    status) tells the relay and the consumer apart.
    """
    while True:
        try:
            return await nats.connect(
                config.broker_url,
                connect_timeout=1,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.2,
                name=name,
            )
        except (OSError, nats.errors.Error) as exc:
            print(f"{name}: broker: {exc}", file=sys.stderr)
            await asyncio.sleep(RETRY_PAUSE_S)


async def relay_batch(
    conn: psycopg.AsyncConnection[Any], js: JetStreamContext, config: EventsConfig
) -> int:
    """Publish up to one batch of outbox rows and delete them; return how many."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id, idempotency_key, payload FROM outbox WHERE region = %s"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (config.region, config.batch),
        )
        rows = await cur.fetchall()
        if not rows:
            return 0
        subject = f"orders.{config.region}"
        # Any failed publish raises and rolls back: every row stays, and the
        # ones already acknowledged are deduplicated when published again.
        await asyncio.gather(
            *(
                js.publish(subject, json.dumps(payload).encode(), headers={"Nats-Msg-Id": key})
                for _, key, payload in rows
            )
        )
        await conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
    return len(rows)
