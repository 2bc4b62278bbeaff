"""The shop's settings, read from a JSON file (it holds passwords: mode 0600)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

READINESS_POLICIES = ("strict", "degraded")
EVENT_MODES = ("outbox", "direct")
"""How the shop emits order events: through the outbox (the design), or
published after the commit with no outbox (the dual-write bug, kept to show
that the total-queue check catches what it loses)."""


@dataclass(frozen=True)
class ShopConfig:
    """Everything one shop instance needs to run."""

    region: str
    listen_host: str
    listen_port: int
    # libpq conninfo for writes: every PostgreSQL node, own region first,
    # target_session_attrs=read-write, so writes follow the leader.
    write_dsn: str
    # libpq conninfo for catalog reads: own region's node first, any role.
    read_dsn: str
    redis_host: str
    redis_port: int
    redis_password: str
    # The region's copy of the global catalog cache (same password).
    catalog_host: str = ""
    catalog_port: int = 6380
    readiness_policy: str = "strict"
    # The region's broker: host and port for readiness, URL (with credentials)
    # for the `direct` event mode.
    broker_host: str = ""
    broker_port: int = 4222
    broker_url: str = ""
    events: str = "outbox"
    # How long a checkout keeps retrying a lost database connection.
    checkout_retry_seconds: float = 6.0
    max_body_bytes: int = 65536

    def __post_init__(self) -> None:
        if self.readiness_policy not in READINESS_POLICIES:
            raise ValueError(
                f"readiness_policy must be one of {READINESS_POLICIES}, "
                f"not {self.readiness_policy!r}"
            )
        if self.events not in EVENT_MODES:
            raise ValueError(f"events must be one of {EVENT_MODES}, not {self.events!r}")

    @classmethod
    def load(cls, path: Path) -> ShopConfig:
        return cls(**json.loads(path.read_text()))

    def dumps(self) -> str:
        return json.dumps(asdict(self), indent=2)
