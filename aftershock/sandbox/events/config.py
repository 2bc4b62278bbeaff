"""The event daemons' settings, read from a JSON file (it holds passwords: mode 0600)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class EventsConfig:
    """What a region's relay and fulfilment consumer need."""

    region: str
    # The other region, whose stream this region mirrors as `orders-<other>`.
    other: str
    # The region's broker, with credentials.
    broker_url: str
    # libpq conninfo that follows the PostgreSQL leader (the outbox lives there).
    write_dsn: str
    # The fulfilment consumer's record of what it delivered (JSON lines).
    deliveries: str
    # How long the relay waits between polls of an empty outbox.
    poll_seconds: float = 0.1
    batch: int = 256

    @classmethod
    def load(cls, path: Path) -> EventsConfig:
        return cls(**json.loads(path.read_text()))

    def dumps(self) -> str:
        return json.dumps(asdict(self), indent=2)
