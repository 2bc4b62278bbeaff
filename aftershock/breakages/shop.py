"""Shop breakages, through the runtime settings a running shop takes on SIGHUP.

A slow region, one that sheds load, one that cannot check out, one that
serves a stale catalog from its own memory (`shop.runtime`): each is a
bug or a bad setting of the service, not something the environment did.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import replace
from typing import Any

from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import shops
from aftershock.sandbox.shop.runtime import RuntimeSettings
from aftershock.targets.local.common import daemon_pid

KNOBS = ("capacity_rps", "checkout_enabled", "latency_ms", "catalog_stale_s")


def settings(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s shop takes the runtime settings in `params` (the others keep their defaults)."""
    region = params.get("region", "tokyo")
    chosen = {k: v for k, v in params.items() if k in KNOBS}
    shops.reconfigure(topology, region, replace(RuntimeSettings(), **chosen))
    return {"region": region, **chosen}


def undo_settings(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    shops.reconfigure(topology, params.get("region", "tokyo"), RuntimeSettings())


def frozen(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s shop hangs (SIGSTOP): it holds its connections and answers nothing."""
    region = params.get("region", "taiwan")
    pid = daemon_pid(topology, f"shop-{region}")
    if pid is None:
        raise SandboxError(f"shop-{region} is not running: nothing to freeze")
    os.killpg(pid, signal.SIGSTOP)
    return {"region": region, "pid": pid}


def undo_frozen(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    pid = touched.get("pid") or daemon_pid(topology, f"shop-{params.get('region', 'taiwan')}")
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGCONT)


def load_frozen(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's running load (Locust) frozen (SIGSTOP): it sends nothing while it holds.

    Not a platform defect but one of the evidence: a verdict over a load
    that stopped looking must say so, not pass on what it saw before.
    """
    from aftershock.load.runner import registry_path, running

    load = running(registry_path(topology.state_root, topology.name))
    if load is None:
        raise SandboxError(f"no load runs against sandbox {topology.name}: nothing to freeze")
    os.killpg(load.pid, signal.SIGSTOP)
    return {"pid": load.pid}


def undo_load_frozen(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    if touched.get("pid"):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(touched["pid"]), signal.SIGCONT)
