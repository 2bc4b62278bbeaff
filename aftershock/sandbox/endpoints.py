"""Client endpoints of a sandbox: where psql, scripts and Locust connect."""

from __future__ import annotations

from typing import Any

import psycopg

from aftershock.config.topology import (
    EDGE_PG_READ_PORTS,
    EDGE_PG_WRITE_PORT,
    EDGE_STATS_PORT,
    PG_PORT,
    REDIS_PORT,
    REGIONS,
    Topology,
)
from aftershock.sandbox.credentials import Credentials


def postgres_endpoints(topology: Topology) -> dict[str, tuple[str, int]]:
    """Endpoint name -> (host, port) on the edge: `write`, `read-taiwan`, `read-tokyo`."""
    points = {"write": (topology.loopback, EDGE_PG_WRITE_PORT)}
    for region in REGIONS:
        points[f"read-{region}"] = (topology.loopback, EDGE_PG_READ_PORTS[region])
    return points


def describe(topology: Topology) -> dict[str, Any]:
    """Every endpoint, without secrets (they stay in the credentials file)."""
    pg = postgres_endpoints(topology)
    return {
        "name": topology.name,
        "state_dir": str(topology.state_dir),
        "credentials_file": str(topology.state_dir / "credentials.json"),
        "pgpassfile": str(topology.state_dir / "pgpass"),
        "postgres": {
            name: {"host": h, "port": p, "user": "postgres", "dbname": "postgres"}
            for name, (h, p) in pg.items()
        },
        "redis": {r: {"host": topology.address(r), "port": REDIS_PORT} for r in REGIONS},
        "etcd": [topology.etcd_client_url(s) for s in ("taiwan", "tokyo", "witness")],
        "patroni": {r: topology.patroni_url(r) for r in REGIONS},
        "haproxy_stats": f"http://{topology.loopback}:{EDGE_STATS_PORT}/stats",
        "edge": topology.edge_url,
        "edge_regions": {r: topology.edge_region_url(r) for r in REGIONS},
        "shops": {r: topology.shop_url(r) for r in REGIONS},
    }


def pgpass_text(topology: Topology, creds: Credentials) -> str:
    """A libpq password file for every edge endpoint (so psql never needs a password flag)."""
    return "".join(
        f"{host}:{port}:*:postgres:{creds.postgres}\n"
        for host, port in postgres_endpoints(topology).values()
    )


def connect(
    topology: Topology,
    creds: Credentials,
    endpoint: str = "write",
    dbname: str = "postgres",
    timeout: float = 2.0,
    as_shop: bool = False,
) -> psycopg.Connection[Any]:
    """A connection through the edge endpoint `endpoint` (autocommit).

    As the superuser, or with `as_shop` as the shop's own role.
    """
    host, port = postgres_endpoints(topology)[endpoint]
    return psycopg.connect(
        host=host,
        port=port,
        user="shop" if as_shop else "postgres",
        password=creds.shop if as_shop else creds.postgres,
        dbname=dbname,
        connect_timeout=max(1, int(timeout)),
        autocommit=True,
    )


def connect_node(
    topology: Topology,
    region: str,
    creds: Credentials,
    dbname: str = "postgres",
    timeout: float = 3.0,
) -> psycopg.Connection[Any]:
    """A superuser connection straight to the region's PostgreSQL, not through the edge."""
    return psycopg.connect(
        host=topology.address(region),
        port=PG_PORT,
        user="postgres",
        password=creds.postgres,
        dbname=dbname,
        connect_timeout=max(1, int(timeout)),
        autocommit=True,
    )


def writable(topology: Topology, creds: Credentials) -> bool:
    """True when a write through the write endpoint lands on a primary."""
    with connect(topology, creds, "write") as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        return row is not None and row[0] is False


def node_answers(topology: Topology, region: str, creds: Credentials) -> bool:
    """True when the region's PostgreSQL answers a query on its own address."""
    with connect_node(topology, region, creds, timeout=2) as conn:
        return conn.execute("SELECT 1").fetchone() is not None
