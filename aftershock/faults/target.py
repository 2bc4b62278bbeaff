"""Which platform a fault acts on: chosen by the experiment's configuration, not its code.

Configuration keys (values may use Chaos Toolkit's env indirection):

- ``aftershock_target``: ``local`` (the sandbox, default), ``aws`` or ``k8s``;
- ``aftershock_sandbox``: the sandbox name for ``local`` (default ``as``); for
  ``aws`` / ``k8s`` the name the evidence and the fault ledger are kept under;
- ``aftershock_state_root``: where sandboxes keep their state;
- ``aftershock_target_file``: the YAML target file of ``aws`` / ``k8s``
  (`aftershock.targets.target_file`);
- ``aftershock_allow_destructive``: ``true`` lets ``aws`` / ``k8s`` faults act.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aftershock.faults.ledger import Ledger
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
        from aftershock.targets.drivers import run_fault

        return run_fault(target, fault, configuration, **params)
    from aftershock.targets.local import FAULTS

    return FAULTS[fault](sandbox(configuration), **params)


def local_sandbox(probe: str, configuration: dict[str, Any] | None) -> Topology:
    """The sandbox a probe observes; refuses other targets, saying why."""
    target = target_name(configuration)
    if target != "local":
        from aftershock.targets.drivers import probe_refusal

        raise FaultNotSupported(probe_refusal(target, probe))
    return sandbox(configuration)


def fault_ledger(configuration: dict[str, Any] | None) -> Ledger:
    """The ledger the configured target records its faults in (and the journal beside it)."""
    target = target_name(configuration)
    if target == "local":
        from aftershock.targets.local.common import ledger

        return ledger(sandbox(configuration))
    from aftershock.targets.drivers import ledger_path

    return Ledger(ledger_path(configuration, target))
