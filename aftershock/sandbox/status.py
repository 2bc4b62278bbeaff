"""What a running sandbox looks like right now, read over the client paths."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from aftershock.config.topology import (
    EDGE_HTTP_REGION_PORTS,
    PG_PORT,
    REDIS_PORT,
    REGIONS,
    SHOP_PORT,
    SITES,
    Topology,
)
from aftershock.sandbox import cache, etcd, haproxy, postgres
from aftershock.sandbox.credentials import Credentials
from aftershock.sandbox.endpoints import connect, postgres_endpoints
from aftershock.sandbox.http import get


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
    for region in REGIONS:
        health = "healthy" if cache.healthy(topology, region, creds) else "down"
        rows.append(Row("redis", region, f"{topology.address(region)}:{REDIS_PORT}", "-", health))
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


def as_dicts(rows: list[Row]) -> list[dict[str, str]]:
    return [asdict(row) for row in rows]
