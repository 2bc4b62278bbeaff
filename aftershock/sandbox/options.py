"""What can be chosen when a sandbox boots."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aftershock.errors import SandboxError
from aftershock.sandbox.haproxy import EDGE_PRESETS, EdgeChecks
from aftershock.sandbox.postgres import REPLICATION_MODES
from aftershock.sandbox.shop.config import (
    EVENT_MODES,
    INVENTORY_POLICIES,
    ORDER_KEY_SCOPES,
    ORDER_POLICIES,
    READINESS_POLICIES,
)
from aftershock.sandbox.writers import TOPOLOGIES


@dataclass(frozen=True)
class SandboxOptions:
    """Boot-time choices; every one is validated before anything is touched."""

    replication: str = "sync"
    readiness_policy: str = "strict"
    edge_checks: str = "fast"
    products: int = 1000
    stock: int = 1000
    events: str = "outbox"
    topology: str = "single-writer"
    # ADR-037's policies; anything but the first choice needs multi-writer.
    orders: str = "local"
    inventory: str = "lww"
    order_keys: str = "global"

    def __post_init__(self) -> None:
        _choice("--topology", self.topology, TOPOLOGIES)
        _choice("--orders", self.orders, ORDER_POLICIES)
        _choice("--inventory", self.inventory, INVENTORY_POLICIES)
        _choice("--order-keys", self.order_keys, ORDER_KEY_SCOPES)
        if self.topology != "multi-writer":
            chosen = {
                "--orders": (self.orders, ORDER_POLICIES),
                "--inventory": (self.inventory, INVENTORY_POLICIES),
                "--order-keys": (self.order_keys, ORDER_KEY_SCOPES),
            }
            for flag, (value, choices) in chosen.items():
                if value != choices[0]:
                    raise SandboxError(
                        f"{flag} {value} is a multi-writer policy: add --topology multi-writer"
                    )
        _choice("--replication", self.replication, REPLICATION_MODES)
        _choice("--readiness", self.readiness_policy, READINESS_POLICIES)
        _choice("--edge-checks", self.edge_checks, tuple(EDGE_PRESETS))
        _choice("--events", self.events, EVENT_MODES)
        if not 1 <= self.products <= 1_000_000:
            raise SandboxError(f"--products must be between 1 and 1000000, not {self.products}")
        if not 0 <= self.stock <= 1_000_000_000:
            raise SandboxError(f"--stock must be between 0 and 1000000000, not {self.stock}")

    @property
    def multi_writer(self) -> bool:
        return self.topology == "multi-writer"

    @property
    def policy(self) -> str:
        """The topology and its policies in one label, as the verdict table heads a column."""
        if not self.multi_writer:
            return self.topology
        policies = f"{self.orders} orders, {self.inventory} stock, {self.order_keys} keys"
        return f"{self.topology} ({policies})"

    @property
    def checks(self) -> EdgeChecks:
        return EDGE_PRESETS[self.edge_checks]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


POLICY_KEYS = {"orders": "orders", "inventory": "inventory", "keys": "order_keys"}


def with_policies(replication: str, topology: str, policies: str) -> SandboxOptions:
    """The options for `--topology` and `--policies orders=quorum,inventory=delta,keys=region`.

    Raises SandboxError, in one line, on anything it cannot use.
    """
    chosen: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in policies.split(","))):
        name, _, value = part.partition("=")
        if name not in POLICY_KEYS or not value:
            raise SandboxError(
                f"--policies: expected e.g. orders=quorum,inventory=delta,keys=region, got {part!r}"
            )
        chosen[POLICY_KEYS[name]] = value
    return SandboxOptions(replication=replication, topology=topology, **chosen)


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SandboxError(f"{flag} must be one of {', '.join(choices)}, not {value!r}")
