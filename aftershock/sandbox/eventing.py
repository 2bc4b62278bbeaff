"""The event daemons in the sandbox: one outbox relay and one fulfilment consumer per region."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aftershock.config.topology import REGIONS, Topology, other_region
from aftershock.sandbox.brokers import client_url, monitor
from aftershock.sandbox.credentials import Credentials, chown, private_dir, write_private
from aftershock.sandbox.events.config import EventsConfig
from aftershock.sandbox.processes import DaemonSpec
from aftershock.sandbox.shops import UNPRIVILEGED_USER, dsn

ROLES = ("relay", "fulfil")
"""The event daemons: `python -m aftershock.sandbox.events <role>`, named `<role>-<region>`."""


def deliveries_path(topology: Topology, region: str) -> Path:
    """The fulfilment consumer's delivery log in `region` (JSON lines)."""
    return topology.site_dir(region) / "fulfilment" / "deliveries.jsonl"


def config(
    topology: Topology, region: str, creds: Credentials, local_only: bool = False
) -> EventsConfig:
    return EventsConfig(
        region=region,
        other=other_region(region),
        broker_url=client_url(topology, region, creds),
        write_dsn=dsn(topology, region, creds, "read-write", "relay", local_only),
        deliveries=str(deliveries_path(topology, region)),
    )


def spec(
    topology: Topology,
    region: str,
    role: str,
    creds: Credentials,
    unprivileged: bool,
    local_only: bool = False,
) -> DaemonSpec:
    """Write the region's events config and describe its `role` daemon (relay or fulfil)."""
    if region not in REGIONS:
        raise ValueError(f"event daemons run only in {REGIONS}, not in {region!r}")
    if role not in ROLES:
        raise ValueError(f"unknown event daemon {role!r}: choose one of {', '.join(ROLES)}")
    user = UNPRIVILEGED_USER if unprivileged else None
    path = topology.site_dir(region) / "events.json"
    write_private(path, config(topology, region, creds, local_only).dumps(), owner=user)
    log = deliveries_path(topology, region)
    private_dir(log.parent, owner=user)
    log.touch()
    if user:
        chown(log, user)
    return DaemonSpec(
        name=f"{role}-{region}",
        netns=topology.netns(region),
        user=user,
        group="nogroup" if unprivileged else None,
        log=topology.log_path(f"{role}-{region}"),
        argv=[sys.executable, "-m", "aftershock.sandbox.events", role, "--config", str(path)],
        env={"HOME": "/"},
    )


def connected(topology: Topology, region: str, role: str) -> bool:
    """True when the region's broker has a client connection named `<role>-<region>`."""
    connz = monitor(topology, region, "/connz")
    names = {c.get("name") for c in (connz or {}).get("connections") or []}
    return f"{role}-{region}" in names


def consuming(topology: Topology, region: str) -> bool:
    """True when the fulfilment consumer is connected and bound to both streams."""
    if not connected(topology, region, "fulfil"):
        return False
    jsz = monitor(topology, region, "/jsz?consumers=true")
    bound = {
        consumer.get("stream_name")
        for account in (jsz or {}).get("account_details") or []
        for stream in account.get("stream_detail") or []
        for consumer in stream.get("consumer_detail") or []
        if consumer.get("name") == "fulfilment"
    }
    return {"orders", f"orders-{other_region(region)}"} <= bound


def deliveries(topology: Topology, region: str) -> list[dict[str, Any]]:
    """Every delivery the region's fulfilment consumer recorded (a torn last line skipped)."""
    try:
        lines = deliveries_path(topology, region).read_text().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found
