"""Which platform a fault acts on: chosen by the experiment's configuration, not its code.

Configuration keys (values may use Chaos Toolkit's env indirection):

- ``aftershock_target``: ``local`` (the sandbox, default), ``aws`` or ``k8s``;
- ``aftershock_sandbox``: the sandbox name for ``local`` (default ``as``);
- ``aftershock_state_root``: where sandboxes keep their state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aftershock.sandbox.errors import SandboxError
from aftershock.sandbox.topology import DEFAULT_NAME, DEFAULT_STATE_ROOT, Topology

TARGETS = ("local", "aws", "k8s")


class FaultNotSupported(SandboxError):
    """The configured target has no implementation of this fault (yet)."""


def target_name(configuration: dict[str, Any] | None) -> str:
    name = str((configuration or {}).get("aftershock_target", "local"))
    if name not in TARGETS:
        raise SandboxError(f"unknown target {name!r}: choose one of {', '.join(TARGETS)}")
    return name


def sandbox(configuration: dict[str, Any] | None) -> Topology:
    """The sandbox the configuration names."""
    cfg = configuration or {}
    return Topology(
        str(cfg.get("aftershock_sandbox", DEFAULT_NAME)),
        Path(str(cfg.get("aftershock_state_root", DEFAULT_STATE_ROOT))),
    )


def run(fault: str, configuration: dict[str, Any] | None, **params: Any) -> dict[str, Any]:
    """Carry out `fault` on the configured target and return what it touched."""
    target = target_name(configuration)
    if target != "local":
        raise FaultNotSupported(f"fault {fault} is not supported by target {target} yet")
    from aftershock.targets.local import FAULTS

    return FAULTS[fault](sandbox(configuration), **params)


def local_sandbox(probe: str, configuration: dict[str, Any] | None) -> Topology:
    """The sandbox a probe observes; refuses targets that have no implementation of it yet."""
    target = target_name(configuration)
    if target != "local":
        raise FaultNotSupported(f"probe {probe} is not supported by target {target} yet")
    return sandbox(configuration)
