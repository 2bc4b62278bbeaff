"""The harness's client side of the brokers: creating the streams, reading events back.

nats-py is asyncio-only; each function here is synchronous (one short
`asyncio.run`) because the sandbox, the faults and the probes are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    ExternalStream,
    StorageType,
    StreamConfig,
    StreamSource,
)

from aftershock.config.topology import REGIONS, Topology, other_region
from aftershock.errors import SandboxError
from aftershock.sandbox.brokers import (
    DUPLICATE_WINDOW_S,
    STREAM,
    client_url,
    mirror_name,
    subject,
)
from aftershock.sandbox.credentials import Credentials
from aftershock.sandbox.events.keys import event_key

T = TypeVar("T")
READ_BATCH = 1000


class BrokerUnreachable(SandboxError):
    """A region's broker did not answer the harness."""


@dataclass(frozen=True)
class Event:
    """One order event as a stream holds it."""

    key: str | None
    seq: int
    at: float


def with_jetstream(
    topology: Topology,
    region: str,
    creds: Credentials,
    work: Callable[[JetStreamContext], Awaitable[T]],
    timeout: float = 2.0,
) -> T:
    """Run `work` against the region's JetStream; `BrokerUnreachable` when it cannot connect."""

    async def session() -> T:
        try:
            nc = await nats.connect(
                client_url(topology, region, creds),
                connect_timeout=timeout,
                allow_reconnect=False,
                max_reconnect_attempts=0,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            raise BrokerUnreachable(f"broker of {region} does not answer: {exc!r}") from exc
        try:
            return await work(nc.jetstream(timeout=timeout))
        finally:
            await nc.close()

    return asyncio.run(session())


def create_streams(topology: Topology, creds: Credentials) -> None:
    """Create each region's `orders` stream and its mirror of the other's; idempotent."""
    for region in REGIONS:

        async def create(js: JetStreamContext, region: str = region) -> None:
            await js.add_stream(
                StreamConfig(
                    name=STREAM,
                    subjects=[subject(region)],
                    storage=StorageType.FILE,
                    duplicate_window=DUPLICATE_WINDOW_S,
                )
            )
            source = other_region(region)
            await js.add_stream(
                StreamConfig(
                    name=mirror_name(source),
                    storage=StorageType.FILE,
                    mirror=StreamSource(
                        name=STREAM, external=ExternalStream(api=f"$JS.{source}.API")
                    ),
                )
            )

        with_jetstream(topology, region, creds, create)


def read_events(topology: Topology, region: str, creds: Credentials, stream: str) -> list[Event]:
    """Every event `stream` holds in `region`, in sequence order (an ephemeral consumer)."""

    async def read(js: JetStreamContext) -> list[Event]:
        info = await js.add_consumer(
            stream,
            ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.ALL,
                inactive_threshold=30,
            ),
        )
        pending = info.num_pending or 0
        sub = await js.pull_subscribe_bind(consumer=info.name, stream=stream)
        events: list[Event] = []
        try:
            while len(events) < pending:
                try:
                    msgs = await sub.fetch(READ_BATCH, timeout=2.0)
                except nats.errors.TimeoutError:
                    # A short read is not an empty stream: say it could not look.
                    raise BrokerUnreachable(
                        f"{stream} in {region}: read {len(events)} of {pending} events"
                    ) from None
                events += [_event(m.data, m.headers, m.metadata) for m in msgs]
        finally:
            await sub.unsubscribe()
            await js.delete_consumer(stream, info.name)
        return events

    return with_jetstream(topology, region, creds, read, timeout=5.0)


def message_time(
    topology: Topology, region: str, creds: Credentials, stream: str, seq: int, subject: str
) -> float | None:
    """When the first message of `subject` at or after `seq` was stored (epoch seconds).

    "At or after": a message deleted from the stream does not hide the age
    of the ones behind it. None when the stream holds none from `seq` on.
    """

    async def get(js: JetStreamContext) -> float | None:
        try:
            msg = await js.get_msg(stream, seq, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            return None
        return msg.time.timestamp() if msg.time else None

    return with_jetstream(topology, region, creds, get)


def _event(data: bytes, headers: dict[str, str] | None, metadata: Any) -> Event:
    key = event_key(data, (headers or {}).get("Nats-Msg-Id"))
    at = metadata.timestamp.timestamp() if metadata.timestamp else time.time()
    return Event(key, metadata.sequence.stream, at)
