"""Reading MSK with confluent-kafka: topic end offsets and every event's key.

Read-only, with the SASL/SCRAM login of the target file's `events.sasl`
(the password from the environment variable it names, never logged). Each
read is recorded as a `kafka` call first, so a dry run prints it and makes
no connection. Consumers never commit offsets: reading leaves no trace in
the cluster but a short-lived consumer group.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from aftershock.config.target_events import EventRegion
from aftershock.errors import SandboxError
from aftershock.sandbox.events.keys import event_key
from aftershock.targets.plan import Call
from aftershock.targets.remote import Context

TIMEOUT_S = 10.0
POLL_S = 1.0


def _settings(ctx: Context, cluster: EventRegion) -> dict[str, Any]:
    events = ctx.target.events
    login = events.login if events else None
    if login is None:
        raise SandboxError(
            "reading MSK needs events.sasl (mechanism, username, password_env) in "
            f"{ctx.target.path}"
        )
    password = os.environ.get(login.password_env)
    if not password:
        raise SandboxError(
            f"set {login.password_env} to the password of {login.username} on MSK "
            "(events.sasl.password_env in the target file)"
        )
    return {
        "bootstrap.servers": cluster.bootstrap,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": login.mechanism,
        "sasl.username": login.username,
        "sasl.password": password,
        "group.id": f"aftershock-read-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }


def _log(ctx: Context, cluster: EventRegion, operation: str, topic: str) -> None:
    ctx.log.add(
        Call("kafka", cluster.name, operation, {"bootstrap": cluster.bootstrap, "topic": topic})
    )


def end_offsets(ctx: Context, cluster: EventRegion, topic: str) -> dict[int, int]:
    """The high watermark of each partition of `topic` (a dry run: none)."""
    _log(ctx, cluster, "end_offsets", topic)
    if ctx.dry_run:
        return {}
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(_settings(ctx, cluster))
    try:
        metadata = consumer.list_topics(topic, timeout=TIMEOUT_S)
        partitions = metadata.topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read_keys(ctx: Context, cluster: EventRegion, topic: str) -> list[tuple[str | None, float]]:
    """(order key, epoch seconds) of every event in `topic`, from the start to the current end.

    A partition is read when the consumer's position reaches its end offset
    (transaction markers take offsets but are never delivered).
    """
    _log(ctx, cluster, "read_all", topic)
    if ctx.dry_run:
        return []
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(_settings(ctx, cluster))
    events: list[tuple[str | None, float]] = []
    try:
        metadata = consumer.list_topics(topic, timeout=TIMEOUT_S)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)
            for p in metadata.topics[topic].partitions
        }
        consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
        left = {p for p, (low, high) in ends.items() if high > low}
        progress = time.monotonic()
        while left:
            message = consumer.poll(POLL_S)
            if message is not None:
                if message.error():
                    raise SandboxError(f"{topic} on {cluster.bootstrap}: {message.error()}")
                stamp = message.timestamp()[1] / 1000.0
                record_key = message.key()
                fallback = record_key.decode(errors="replace") if record_key else None
                events.append((event_key(message.value(), fallback), stamp))
                progress = time.monotonic()
            positions = consumer.position([TopicPartition(topic, p) for p in left])
            left -= {tp.partition for tp in positions if tp.offset >= ends[tp.partition][1]}
            if left and time.monotonic() - progress > TIMEOUT_S:
                # A short read is no empty topic: say it could not look.
                raise SandboxError(
                    f"{topic} on {cluster.bootstrap}: no record for {TIMEOUT_S:.0f} s with "
                    f"partitions {sorted(left)} unread"
                )
        return events
    finally:
        consumer.close()
