"""Which target and sandbox a run acts on: chosen by the experiment's configuration, not its code.

Configuration keys (values may use Chaos Toolkit's env indirection):

- ``aftershock_target``: ``local`` (the sandbox, default), ``aws`` or ``k8s``;
- ``aftershock_sandbox``: the sandbox name for ``local`` (default ``as``); for
  ``aws`` / ``k8s`` the name the evidence and the fault ledger are kept under;
- ``aftershock_state_root``: where sandboxes keep their state;
- ``aftershock_target_file``: the YAML target file of ``aws`` / ``k8s``
  (`aftershock.config.target_file`);
- ``aftershock_allow_destructive``: ``true`` lets ``aws`` / ``k8s`` faults act.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aftershock.config.topology import DEFAULT_NAME, DEFAULT_STATE_ROOT, Topology
from aftershock.errors import SandboxError

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
