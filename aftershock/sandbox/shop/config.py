"""The shop's settings, read from a JSON file (it holds passwords: mode 0600)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

READINESS_POLICIES = ("strict", "degraded")


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
    readiness_policy: str = "strict"
    # How long a checkout keeps retrying a lost database connection.
    checkout_retry_seconds: float = 6.0
    max_body_bytes: int = 65536

    def __post_init__(self) -> None:
        if self.readiness_policy not in READINESS_POLICIES:
            raise ValueError(
                f"readiness_policy must be one of {READINESS_POLICIES}, "
                f"not {self.readiness_policy!r}"
            )

    @classmethod
    def load(cls, path: Path) -> ShopConfig:
        return cls(**json.loads(path.read_text()))

    def dumps(self) -> str:
        return json.dumps(asdict(self), indent=2)
