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

ORDER_POLICIES = ("local", "quorum")
"""local: acknowledge once the own region committed. quorum: ADR-037's "both regions
must acknowledge": commit, then wait until the other region holds the order, or refuse."""
INVENTORY_POLICIES = ("lww", "min", "delta")
"""lww: one stock row per product (pglogical's last-update-wins merges it). min: the
same row with ADR-037's apply-side minimum. delta: per-region allotments, each region
updating only its own row, so the regions' sales commute."""
ORDER_KEY_SCOPES = ("global", "region")
"""global: any region accepts any key. region: a key names its region (`key@taiwan`)
and only that region accepts it, so two regions can never both accept one key."""


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
    # ADR-037's policies (multi-writer); the single writer runs the first of each.
    orders_policy: str = "local"
    inventory: str = "lww"
    order_keys: str = "global"
    # libpq conninfo of the other region's writer: where `quorum` looks for the order.
    peer_dsn: str = ""
    quorum_timeout_seconds: float = 2.0
    # How long a checkout keeps retrying a lost database connection.
    checkout_retry_seconds: float = 6.0
    max_body_bytes: int = 65536

    def __post_init__(self) -> None:
        if self.readiness_policy not in READINESS_POLICIES:
            raise ValueError(
                f"readiness_policy must be one of {READINESS_POLICIES}, "
                f"not {self.readiness_policy!r}"
            )
        for name, value, choices in (
            ("events", self.events, EVENT_MODES),
            ("orders_policy", self.orders_policy, ORDER_POLICIES),
            ("inventory", self.inventory, INVENTORY_POLICIES),
            ("order_keys", self.order_keys, ORDER_KEY_SCOPES),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, not {value!r}")
        if self.orders_policy == "quorum" and not self.peer_dsn:
            raise ValueError("orders_policy quorum needs peer_dsn (the other region's writer)")

    @classmethod
    def load(cls, path: Path) -> ShopConfig:
        return cls(**json.loads(path.read_text()))

    def dumps(self) -> str:
        return json.dumps(asdict(self), indent=2)
