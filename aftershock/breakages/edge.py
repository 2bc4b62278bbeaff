"""Edge breakages: a router that misroutes, answers without a backend, or never re-admits."""

from __future__ import annotations

import socket
from typing import Any

from aftershock.breakages import daemons
from aftershock.config.topology import SHOP_PORT, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox.haproxy import runtime_command

SORRY_PORT = 8099  # on the sandbox's loopback address, beside the edge's own ports


def _run(topology: Topology, command: str) -> str:
    answer = runtime_command(topology, command).strip()
    if (
        answer
        and not answer.startswith(("New server", "Server deleted"))
        and "success" not in answer
    ):
        raise SandboxError(f"HAProxy refused {command!r}: {answer}")
    return answer


def geo_ignored(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """The edge stops sending `geo`'s customers home: they all go to the other region.

    The geo backend's home server is put in maintenance, so its backup (the
    other region) takes every request: nobody fails, the split is gone.
    """
    geo = params.get("geo", "jp")
    home = {"tw": "taiwan", "jp": "tokyo"}[geo]
    _run(topology, f"set server geo-{geo}/{home} state maint")
    return {"geo": geo, "home": home}


def undo_geo_ignored(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    geo = params.get("geo", "jp")
    home = {"tw": "taiwan", "jp": "tokyo"}[geo]
    _run(topology, f"set server geo-{geo}/{home} state ready")


def sorry_page(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """When `region`'s shop is down at the edge, its customers get a 200 sorry page, not the other.

    A fallback server answers 200 for every request, with no serving region;
    it becomes the geo backend's only backup (the other region's server is
    put in maintenance there), so a failed region's customers are "served"
    by nobody instead of failing over.
    """
    region = params.get("region", "taiwan")
    geo = {"taiwan": "tw", "tokyo": "jp"}[region]
    other = "tokyo" if region == "taiwan" else "taiwan"
    address = f"{topology.loopback}:{SORRY_PORT}"
    daemons.start(
        topology, "sorry-page", "aftershock.breakages.sorry_page",
        [topology.loopback, str(SORRY_PORT)], lambda: _answers(topology.loopback, SORRY_PORT),
    )  # fmt: skip
    _run(topology, f"add server geo-{geo}/sorry {address} backup")
    _run(topology, f"enable server geo-{geo}/sorry")
    _run(topology, f"set server geo-{geo}/{other} state maint")
    return {"geo": geo, "other": other}


def undo_sorry_page(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    region = params.get("region", "taiwan")
    geo = {"taiwan": "tw", "tokyo": "jp"}[region]
    other = "tokyo" if region == "taiwan" else "taiwan"
    _run(topology, f"set server geo-{geo}/{other} state ready")
    # Absent when the apply stopped early: an undo of nothing changes nothing.
    runtime_command(topology, f"disable server geo-{geo}/sorry")
    runtime_command(topology, f"del server geo-{geo}/sorry")
    daemons.stop_daemon(topology, "sorry-page")


def never_readmitted(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """The edge checks `region`'s shop on a closed port: once down there, it never comes back."""
    region = params.get("region", "taiwan")
    _run(topology, f"set server shop-{region}/{region} check-port 9")
    return {"region": region}


def undo_never_readmitted(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    region = params.get("region", "taiwan")
    _run(topology, f"set server shop-{region}/{region} check-port {SHOP_PORT}")


def _answers(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=0.5):
        return True
