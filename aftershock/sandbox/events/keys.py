"""Which order an event belongs to: one rule for the consumer, the harness and MSK reads."""

from __future__ import annotations

import json


def event_key(data: bytes | None, fallback: str | None) -> str | None:
    """The order's idempotency key: the payload's `key`, else `fallback`.

    `fallback` is what the transport carries beside the payload: the
    `Nats-Msg-Id` header, or a Kafka record's key. None when neither says.
    """
    try:
        key = json.loads(data or b"").get("key")
    except (ValueError, AttributeError):
        key = None
    return key if isinstance(key, str) else fallback
