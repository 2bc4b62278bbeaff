"""The fulfilment consumer: delivers every order event of both regions once per region.

It reads the region's own `orders` stream and its mirror of the other
region's, through durable pull consumers with explicit acks, and writes each
delivery to a JSON-lines file before acknowledging it. A redelivery (a crash
between the write and the ack) finds the key already delivered and is only
acknowledged: the consumer is idempotent, as a fulfilment service must be.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from aftershock.sandbox.events.config import EventsConfig
from aftershock.sandbox.events.keys import event_key
from aftershock.sandbox.events.relay import RETRY_PAUSE_S, connect_broker

DURABLE = "fulfilment"
FETCH_BATCH = 256
FETCH_WAIT_S = 0.2


def repair(path: Path) -> None:
    """Cut a torn last line (a SIGKILL mid-write) so the next record starts on its own line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as log:
            log.truncate(data.rfind(b"\n") + 1)


def delivered_keys(path: Path) -> set[str]:
    """Keys already delivered, from the delivery log (a torn last line is ignored)."""
    keys: set[str] = set()
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return keys
    for line in lines:
        try:
            keys.add(json.loads(line)["key"])
        except (ValueError, KeyError, TypeError):
            continue
    return keys


async def run(config: EventsConfig) -> None:
    """Deliver forever; a broker that goes away is waited for, never fatal."""
    path = Path(config.deliveries)
    repair(path)
    delivered = delivered_keys(path)
    nc = await connect_broker(config, f"fulfil-{config.region}")
    js = nc.jetstream(timeout=2.0)
    streams = ["orders", f"orders-{config.other}"]
    subs: dict[str, Any] = {}
    with path.open("a") as log:
        while True:
            busy = False
            for stream in streams:
                try:
                    if stream not in subs:
                        subs[stream] = await _subscribe(js, stream)
                    busy |= await _deliver(subs[stream], stream, delivered, log)
                except nats.errors.TimeoutError:
                    continue
                except (OSError, nats.errors.Error, nats.js.errors.Error) as exc:
                    print(f"fulfil {config.region} {stream}: {exc!r}", file=sys.stderr)
                    stale = subs.pop(stream, None)
                    if stale is not None:
                        with contextlib.suppress(nats.errors.Error):
                            await stale.unsubscribe()
                    await asyncio.sleep(RETRY_PAUSE_S)
            if not busy:
                await asyncio.sleep(0.05)


async def _subscribe(js: JetStreamContext, stream: str) -> Any:
    """Bind to the stream's durable consumer, creating it on first use."""
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=10,
            max_ack_pending=20_000,
        ),
    )
    return await js.pull_subscribe_bind(durable=DURABLE, stream=stream)


async def _deliver(sub: Any, stream: str, delivered: set[str], log: TextIO) -> bool:
    """Fetch one batch, record the new deliveries durably, then ack; True if any came."""
    msgs = await sub.fetch(FETCH_BATCH, timeout=FETCH_WAIT_S)
    now = time.time()
    new: set[str] = set()
    for msg in msgs:
        key = event_key(msg.data, (msg.headers or {}).get("Nats-Msg-Id"))
        if key is None or key in delivered or key in new:
            continue
        seq = msg.metadata.sequence.stream
        log.write(json.dumps({"key": key, "stream": stream, "seq": seq, "at": now}) + "\n")
        new.add(key)
    log.flush()
    os.fsync(log.fileno())
    # Only what is on disk counts as delivered: a failed fsync raises before this.
    delivered |= new
    for msg in msgs:
        await msg.ack()
    return bool(msgs)
