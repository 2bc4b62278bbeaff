"""What can be chosen when a sandbox boots."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aftershock.errors import SandboxError
from aftershock.sandbox.haproxy import EDGE_PRESETS, EdgeChecks
from aftershock.sandbox.postgres import REPLICATION_MODES
from aftershock.sandbox.shop.config import EVENT_MODES, READINESS_POLICIES


@dataclass(frozen=True)
class SandboxOptions:
    """Boot-time choices; every one is validated before anything is touched."""

    replication: str = "sync"
    readiness_policy: str = "strict"
    edge_checks: str = "fast"
    products: int = 1000
    stock: int = 1000
    events: str = "outbox"

    def __post_init__(self) -> None:
        _choice("--replication", self.replication, REPLICATION_MODES)
        _choice("--readiness", self.readiness_policy, READINESS_POLICIES)
        _choice("--edge-checks", self.edge_checks, tuple(EDGE_PRESETS))
        _choice("--events", self.events, EVENT_MODES)
        if not 1 <= self.products <= 1_000_000:
            raise SandboxError(f"--products must be between 1 and 1000000, not {self.products}")
        if not 0 <= self.stock <= 1_000_000_000:
            raise SandboxError(f"--stock must be between 0 and 1000000000, not {self.stock}")

    @property
    def checks(self) -> EdgeChecks:
        return EDGE_PRESETS[self.edge_checks]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SandboxError(f"{flag} must be one of {', '.join(choices)}, not {value!r}")
