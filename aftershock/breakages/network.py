"""Network breakages: a path between the regions that their partition does not cut.

The sandbox's partitions cut the regions' own addresses. A relay in the
witness (a third site, as a transit hub or a VPN through another region
would be) with a NAT rule in the region that dials sends that traffic
around the cut: the partition holds for the shoppers and not for the
replication. Existing connections are reset when it is applied, so they
reconnect through the transit at once.
"""

from __future__ import annotations

import socket
from typing import Any

from aftershock.breakages import daemons
from aftershock.config.topology import (
    BROKER_LEAF_PORT,
    EVENTS_HUB,
    PG_PORT,
    REGIONS,
    Topology,
    other_region,
)
from aftershock.sandbox import pglogical
from aftershock.sandbox.brokers import monitor
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.shell import run
from aftershock.sandbox.state import load_credentials, writers_of

TABLE = "aftershock_breakage_transit"
OFFSET = {"taiwan": 20000, "tokyo": 30000}
"""The relay listens on the witness at port + OFFSET[destination]."""


def transit(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """Traffic from `dialer` to the other region on `ports` goes through the witness.

    `dialer` is `taiwan`, `tokyo` or `both`; `ports` the destination ports
    (7422 for the brokers' link, 5432 for PostgreSQL).
    """
    ports = [int(p) for p in params.get("ports", [7422])]
    dialers = list(REGIONS) if params.get("dialer", "tokyo") == "both" else [params["dialer"]]
    witness = topology.address("witness")
    pairs = [
        f"{witness}:{port + OFFSET[other_region(d)]}={topology.address(other_region(d))}:{port}"
        for d in dialers
        for port in ports
    ]
    first = pairs[0].split("=")[0]
    host, port = first.rsplit(":", 1)
    daemons.start(
        topology, "transit", "aftershock.breakages.transit", pairs,
        lambda: _answers(host, int(port)), netns=topology.netns("witness"),
    )  # fmt: skip
    for dialer in dialers:
        to = other_region(dialer)
        rules = "\n".join(
            f"        ip daddr {topology.address(to)} tcp dport {port} "
            f"dnat to {witness}:{port + OFFSET[to]}"
            for port in ports
        )
        _nft(
            topology,
            dialer,
            f"""table ip {TABLE} {{
    chain out {{
        type nat hook output priority -150; policy accept;
{rules}
    }}
}}
""",
        )
        for port in ports:  # what is connected now reconnects, through the transit
            run(["ip", "netns", "exec", topology.netns(dialer), "ss", "-K", "dst",
                 topology.address(to), "dport", "=", str(port)], check=False)  # fmt: skip
    _reconnected(topology, ports)
    return {"dialers": dialers, "ports": ports}


def _reconnected(topology: Topology, ports: list[int]) -> None:
    """Wait until what was reset replicates again, now through the transit.

    Broken and not yet back, the platform would fail for the reset, not for
    the transit: the brokers' leafnode link up, and pglogical's writes
    crossing each way (it backs off after a lost link; minutes at worst).
    """
    witness = topology.address("witness")
    if BROKER_LEAF_PORT in ports:
        wait_until(
            "the brokers' link through the witness",
            lambda: any(
                c.get("ip") == witness
                for c in (monitor(topology, EVENTS_HUB, "/leafz") or {}).get("leafs", [])
            ),
            60,
        )
    if PG_PORT in ports and writers_of(topology) == "multi-writer":
        creds = load_credentials(topology)
        for region in REGIONS:
            wait_until(
                f"a write from {region} crossing through the witness",
                lambda r=region: pglogical.crossed(topology, creds, r, 1.0),
                240,
            )


def undo_transit(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    for region in REGIONS:
        run(["ip", "netns", "exec", topology.netns(region), "nft", "delete", "table", "ip", TABLE],
            check=False)  # fmt: skip
    daemons.stop_daemon(topology, "transit")


def _nft(topology: Topology, site: str, ruleset: str) -> None:
    run(["ip", "netns", "exec", topology.netns(site), "nft", "-f", "-"], stdin=ruleset)


def _answers(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=0.5):
        return True
