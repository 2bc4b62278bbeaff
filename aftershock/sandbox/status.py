"""What a running sandbox looks like right now, read over the client paths."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from aftershock.config.topology import (
    BROKER_PORT,
    CATALOG_PORT,
    EDGE_HTTP_REGION_PORTS,
    PG_PORT,
    REDIS_PORT,
    REGIONS,
    SHOP_PORT,
    SITES,
    Topology,
    other_region,
)
from aftershock.sandbox import (
    brokers,
    cache,
    catalog_cache,
    etcd,
    event_reads,
    eventing,
    haproxy,
    pglogical,
    postgres,
)
from aftershock.sandbox.credentials import Credentials
from aftershock.sandbox.endpoints import connect, postgres_endpoints
from aftershock.sandbox.http import get
from aftershock.sandbox.state import writers_of


@dataclass(frozen=True)
class Row:
    """One line of `aftershock sandbox status`."""

    component: str
    region: str
    address: str
    role: str
    health: str
    lag: str = ""


def etcd_leader_id(topology: Topology, site: str) -> tuple[str, str] | None:
    """(member id, leader id) as the member in `site` sees them, or None."""
    request = urllib.request.Request(  # noqa: S310 (http only)
        f"{topology.etcd_client_url(site)}/v3/maintenance/status", data=b"{}", method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=1.0) as resp:  # noqa: S310
            body = json.loads(resp.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return body["header"]["member_id"], body.get("leader", "")


def replication_rows(topology: Topology, creds: Credentials) -> dict[str, dict[str, Any]]:
    """pg_stat_replication on the leader, by standby name: sync state and lag."""
    query = """
        SELECT application_name, sync_state,
               COALESCE(EXTRACT(epoch FROM replay_lag), 0)::float8,
               COALESCE(pg_wal_lsn_diff(sent_lsn, replay_lsn), 0)::bigint
        FROM pg_stat_replication
    """
    try:
        with connect(topology, creds, "write", timeout=1) as conn:
            rows = conn.execute(query).fetchall()
    except psycopg.Error:
        return {}
    return {
        name: {"sync_state": state, "lag_seconds": lag, "lag_bytes": behind}
        for name, state, lag, behind in rows
    }


def collect(topology: Topology, creds: Credentials) -> list[Row]:
    """Every component's role and health, plus replication lag per replica."""
    rows: list[Row] = []
    for site in SITES:
        ids = etcd_leader_id(topology, site)
        role = "-" if ids is None else ("leader" if ids[0] == ids[1] else "follower")
        health = "healthy" if etcd.healthy(topology, site) else "unhealthy"
        rows.append(Row("etcd", site, f"{topology.address(site)}:2379", role, health))
    if writers_of(topology) == "multi-writer":
        rows += writer_rows(topology, creds)
    else:
        rows += patroni_rows(topology, creds)
    for region in REGIONS:
        health = "healthy" if cache.healthy(topology, region, creds) else "down"
        rows.append(Row("redis", region, f"{topology.address(region)}:{REDIS_PORT}", "-", health))
    for region in REGIONS:
        info = catalog_cache.replication(topology, region, creds)
        address = f"{topology.address(region)}:{CATALOG_PORT}"
        if info is None:
            rows.append(Row("catalog cache", region, address, "-", "down"))
            continue
        primary = info.get("role") == "master"
        role = "primary" if primary else "replica"
        health = "healthy" if primary or info.get("master_link_status") == "up" else "unlinked"
        lag = "" if primary else f"{info.get('master_last_io_seconds_ago', '?')} s since last I/O"
        rows.append(Row("catalog cache", region, address, role, health, lag))
    rows += event_rows(topology)
    for region in REGIONS:
        # Readiness may take its own 1 s per dependency to say "no": wait longer.
        answer = get(f"{topology.shop_url(region)}/health/readiness", timeout=3.0)
        if answer is None:
            health, detail = "down", ""
        else:
            health = "ready" if answer[0] == 200 else "not ready"
            body = answer[1] if isinstance(answer[1], dict) else {}
            detail = (
                f"{body.get('policy', '?')}: db={body.get('database')} cache={body.get('cache')}"
                f" broker={body.get('broker')}"
            )
        rows.append(Row("shop", region, f"{topology.address(region)}:{SHOP_PORT}", detail, health))
    ports = {f"pg-{name}": port for name, (_, port) in postgres_endpoints(topology).items()}
    ports |= {f"shop-{r}": EDGE_HTTP_REGION_PORTS[r] for r in REGIONS}
    # Only the checked backends: the edge's other routes `track` these servers.
    checked = {proxy for proxy in ports}
    for (proxy, server), state in sorted(haproxy.server_states(topology).items()):
        if proxy not in checked:
            continue
        address = f"{topology.loopback}:{ports[proxy]}" if proxy in ports else topology.loopback
        role = "backend"
        if proxy == "pg-write":
            # Only the leader passes /primary: DOWN on the others is the design.
            role = "routes writes" if state == "UP" else "standby"
            state = "UP" if state == "UP" else "not leader"
        rows.append(Row(f"haproxy {proxy}", server, address, role, state))
    return rows


def patroni_rows(topology: Topology, creds: Credentials) -> list[Row]:
    """Single-writer: each Patroni node's role and state, and each replica's lag."""
    rows = []
    replication = replication_rows(topology, creds)
    for region in REGIONS:
        state = postgres.node_state(topology, region)
        if state is None:
            rows.append(
                Row("postgres", region, f"{topology.address(region)}:{PG_PORT}", "-", "down")
            )
            continue
        role = "leader" if state.get("role") in ("master", "primary") else "replica"
        lag = ""
        if region in replication:
            info = replication[region]
            role = "sync replica" if info["sync_state"] == "sync" else "replica"
            lag = f"{info['lag_seconds']:.3f} s ({info['lag_bytes']} B)"
        health = state.get("state", "unknown")
        rows.append(
            Row("postgres", region, f"{topology.address(region)}:{PG_PORT}", role, health, lag)
        )
    return rows


def writer_rows(topology: Topology, creds: Credentials) -> list[Row]:
    """Multi-writer: each region's primary with its subscription, its state and its lag.

    The lag is a real cross-region write: a row committed in the other
    region, timed until it is readable here (capped at 1 s).
    """
    rows = []
    subscriptions = pglogical.subscription_status(topology, creds)
    for region in REGIONS:
        sub = subscriptions[region]
        address = f"{topology.address(region)}:{PG_PORT}"
        if sub["status"] == "unreachable":
            rows.append(Row("postgres", region, address, "primary", "down"))
            continue
        mark = pglogical.mark_lag(topology, creds, other_region(region), timeout=1.0)
        if mark["seconds"] is None:
            lag = "unmeasured"
        else:
            lag = f"{'>= ' if mark['capped'] else ''}{mark['seconds']:.3f} s from {mark['from']}"
        role = f"primary, {sub['subscription']}"
        rows.append(Row("postgres", region, address, role, str(sub["status"]), lag))
    return rows


def event_rows(topology: Topology) -> list[Row]:
    """The brokers, each mirror with its lag, each relay with its outbox and each consumer."""
    rows = []
    for region in REGIONS:
        health = "healthy" if brokers.healthy(topology, region) else "down"
        address = f"{topology.address(region)}:{BROKER_PORT}"
        rows.append(Row("broker", region, address, f"JetStream domain {region}", health))
    try:
        lag = event_reads.mirror_lag(topology)
    except Exception as exc:  # noqa: BLE001 - status shows what it cannot read
        lag = event_reads.MirrorLag(unreachable={"*": f"{type(exc).__name__}: {exc}"})
    for name, mirror in lag.mirrors.items():
        region, source = name.split(" <- ")
        behind = f"{mirror['messages']} msgs, {mirror['seconds']:.3f} s"
        health = "in sync" if mirror["messages"] == 0 else "behind"
        rows.append(Row("mirror", region, f"orders-{source}", f"of {source}", health, behind))
    for region, why in lag.unreachable.items():
        rows.append(Row("mirror", region, "-", "-", f"could not look: {why}"[:60]))
    try:
        outbox = event_reads.outbox_backlog(topology, timeout=1.0)
    except Exception:  # noqa: BLE001 - the leader may be away: status still answers
        outbox = {}
    for region in REGIONS:
        waiting = outbox.get(region)
        role = f"outbox {waiting['rows']} rows" if waiting else "outbox ?"
        health = "connected" if eventing.connected(topology, region, "relay") else "down"
        rows.append(Row("relay", region, f"broker-{region}", role, health))
    for region in REGIONS:
        delivered = len(eventing.deliveries(topology, region))
        health = "consuming" if eventing.consuming(topology, region) else "down"
        rows.append(Row("fulfil", region, "orders + mirror", f"{delivered} delivered", health))
    return rows


def as_dicts(rows: list[Row]) -> list[dict[str, str]]:
    return [asdict(row) for row in rows]
