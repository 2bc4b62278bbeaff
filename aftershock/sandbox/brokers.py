"""NATS JetStream: one broker per region, the stand-in for MSK + MirrorMaker 2.

Each region's broker is its own JetStream domain holding that region's
`orders` stream. The two brokers are joined by one leafnode link over the
sandbox network (tokyo dials taiwan), and each region keeps a mirror of the
other's `orders` stream, `orders-<other>`, fed over that link through the
other domain's API (`$JS.<other>.API`). Mirrors have no subjects, so nothing
loops; the link denies the `orders.>` subjects both ways, so a publish in
one region never lands directly in the other's stream. Cutting the link
(a region isolated, a partition, `cut_mirror_link`) leaves each region's own
stream writable and makes its mirror fall behind; healing it lets the
mirror catch up from where it stopped, as MirrorMaker 2 does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from aftershock.config.topology import (
    BROKER_LEAF_PORT,
    BROKER_MONITOR_PORT,
    BROKER_PORT,
    EVENTS_HUB,
    REGIONS,
    Topology,
)
from aftershock.sandbox.credentials import Credentials, private_dir, write_private
from aftershock.sandbox.processes import DaemonSpec

BROKER_USER = "nats"
CLIENT_USER = "shop"
LINK_USER = "link"

STREAM = "orders"
"""Each region's own stream of order events; subjects `orders.<region>`."""

DUPLICATE_WINDOW_S = 600
"""How long JetStream remembers a `Nats-Msg-Id`: a relay that crashed between
the ack and deleting its outbox row republishes within seconds, well inside it."""


def mirror_name(source_region: str) -> str:
    """The stream that holds, in the other region, a mirror of `source_region`'s orders."""
    return f"{STREAM}-{source_region}"


def subject(region: str) -> str:
    """The subject a region's relay publishes its order events on."""
    return f"{STREAM}.{region}"


def config_text(topology: Topology, region: str, creds: Credentials) -> str:
    """nats-server.conf for the region: JetStream domain, client auth, the leafnode link."""
    address = topology.address(region)
    store = topology.site_dir(region) / "nats"
    lines = [
        f"server_name: {region}",
        f"listen: {address}:{BROKER_PORT}",
        f"http: {address}:{BROKER_MONITOR_PORT}",
        f'jetstream {{ domain: {region}, store_dir: "{store}" }}',
        f'authorization {{ user: {CLIENT_USER}, password: "{creds.broker}" }}',
    ]
    if region == EVENTS_HUB:
        lines += [
            "leafnodes {",
            f"  listen: {address}:{BROKER_LEAF_PORT}",
            # Without advertise the remote learns every address of this host
            # and reconnects around a cut link through one the cut misses.
            f"  advertise: {address}:{BROKER_LEAF_PORT}",
            f'  authorization {{ user: {LINK_USER}, password: "{creds.broker_link}" }}',
            "}",
        ]
    else:
        hub = f"{topology.address(EVENTS_HUB)}:{BROKER_LEAF_PORT}"
        denied = f'["{STREAM}.>"]'
        lines += [
            "leafnodes {",
            "  reconnect: 1",
            "  remotes: [{",
            f'    url: "nats-leaf://{LINK_USER}:{creds.broker_link}@{hub}"',
            # Without these, a publish on orders.<region> also reaches the
            # other region's stream (same subjects): every event twice.
            f"    deny_imports: {denied}",
            f"    deny_exports: {denied}",
            "  }]",
            "}",
        ]
    return "\n".join(lines) + "\n"


def spec(topology: Topology, region: str, creds: Credentials) -> DaemonSpec:
    """Write the region's broker config (readable only by nats) and describe its daemon."""
    if region not in REGIONS:
        raise ValueError(f"a broker runs only in {REGIONS}, not in {region!r}")
    private_dir(topology.site_dir(region) / "nats", owner=BROKER_USER)
    conf = topology.site_dir(region) / "nats-server.conf"
    write_private(conf, config_text(topology, region, creds), owner=BROKER_USER)
    return DaemonSpec(
        name=f"broker-{region}",
        netns=topology.netns(region),
        user=BROKER_USER,
        log=topology.log_path(f"broker-{region}"),
        argv=["nats-server", "-c", str(conf)],
    )


def client_url(topology: Topology, region: str, creds: Credentials) -> str:
    """The broker's client URL with the shop's credentials."""
    return topology.broker_url(region).replace("nats://", f"nats://{CLIENT_USER}:{creds.broker}@")


def monitor(topology: Topology, region: str, path: str, timeout: float = 1.0) -> Any:
    """GET a monitoring endpoint (`/jsz?streams=true`, `/leafz`); None when it does not answer."""
    url = f"{topology.broker_monitor_url(region)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (http only)
            return json.loads(resp.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


def healthy(topology: Topology, region: str) -> bool:
    """True when the broker answers /healthz with JetStream enabled."""
    return monitor(topology, region, "/healthz?js-enabled-only=true") is not None


def linked(topology: Topology) -> bool:
    """True when the hub sees the other region's leafnode connection."""
    leafz = monitor(topology, EVENTS_HUB, "/leafz")
    return bool(leafz and leafz.get("leafnodes", 0) >= 1)


def streams(topology: Topology, region: str, timeout: float = 1.0) -> dict[str, dict[str, Any]]:
    """The region's streams by name (state, and `mirror` for a mirror); {} when unreachable."""
    jsz = monitor(topology, region, "/jsz?streams=true&config=true", timeout)
    if not jsz:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            found[stream["name"]] = stream
    return found
