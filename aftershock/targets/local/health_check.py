"""The DR drill's traffic failover on the sandbox: a region's edge health check made to fail.

Route 53's drill inverts a region's health check: the checker still runs,
the region still works, but Route 53 takes it for unhealthy and moves its
traffic. The sandbox's edge (HAProxy) has no inverted check, so its
runtime API points the region's check at a port nothing listens on
(`set server ... check-port`): the checks keep running and really fail,
the edge marks the region down after `fall` of them (servers that `track`
it follow), and every process of the region keeps running. The undo
points the check back at the shop, and the region comes back only once
its own checks pass (`rise`): the failback is the platform's, not ours.

Not `disable health` with `set server ... health down`: a check already
in flight when the checks are disabled still lands, and a passing one
brought the region back up within a second (seen in a drill).
"""

from __future__ import annotations

from typing import Any

from aftershock.config.topology import REGIONS, SHOP_PORT, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import haproxy, shops
from aftershock.sandbox.processes import is_alive
from aftershock.sandbox.state import registry
from aftershock.targets.local.common import check_choice, forget, record

CLOSED_PORT = 9  # discard: nothing in a region's namespace listens on it


def _server(region: str) -> str:
    return f"shop-{region}/{region}"


def _edge(topology: Topology, command: str) -> None:
    """One runtime API command; HAProxy answers nothing when it took it."""
    try:
        answer = haproxy.runtime_command(topology, command).strip()
    except OSError as exc:
        raise SandboxError(f"the edge's runtime API did not answer {command!r}: {exc}") from None
    if answer:
        raise SandboxError(f"the edge refused {command!r}: {answer}")


def fail_health_check(topology: Topology, region: str) -> dict[str, Any]:
    """Make the edge's health check of `region` fail while the region keeps running."""
    check_choice(region, REGIONS)
    entry = record(
        topology, "fail_health_check", {"region": region}, f"{region}'s health check is failed"
    )
    _edge(topology, f"set server {_server(region)} check-port {CLOSED_PORT}")
    return {
        "fault": "fail_health_check",
        "id": entry.id,
        "region": region,
        "edge_server": _server(region),
    }


def restore_health_check(topology: Topology, region: str) -> dict[str, Any]:
    """Let the edge's health check of `region` judge it again; idempotent."""
    check_choice(region, REGIONS)
    _edge(topology, f"set server {_server(region)} check-port {SHOP_PORT}")
    forget(topology, "fail_health_check", {"region": region})
    return {"fault": "restore_health_check", "region": region, "edge_server": _server(region)}


def kept_running(topology: Topology, region: str) -> dict[str, Any]:
    """While its health check is failed: does `region` still run, and does the edge hold it down?

    Valid when every daemon the sandbox registered for the region is alive,
    its shop answers readiness directly (not through the edge) with 200,
    and the edge has the region's shop down: the drill's failover moved the
    traffic, nothing in the region stopped.
    """
    check_choice(region, REGIONS)
    suffix = f"-{region}"
    daemons = {
        name: is_alive(daemon.pid, daemon.starttime)
        for name, daemon in registry(topology).load().items()
        if name.endswith(suffix)
    }
    ready = shops.ready(topology, region)
    edge = haproxy.server_states(topology).get((f"shop-{region}", region))
    stopped = sorted(name for name, alive in daemons.items() if not alive)
    problems = []
    if not daemons:
        problems.append(f"no daemon of {region} is registered")
    if stopped:
        problems.append(f"stopped: {', '.join(stopped)}")
    if not ready:
        problems.append(f"shop-{region} does not answer readiness with 200")
    if edge != "DOWN":
        problems.append(f"the edge has {region}'s shop {edge or 'unknown'}, not DOWN")
    running = f"{len(daemons) - len(stopped)} of {len(daemons)} daemons of {region} running"
    return {
        "valid": not problems,
        "region": region,
        "daemons": daemons,
        "shop_ready": ready,
        "edge": edge,
        "reason": "; ".join(problems)
        if problems
        else f"{running}, its shop ready, the edge holding it down",
    }
