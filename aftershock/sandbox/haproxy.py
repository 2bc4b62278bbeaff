"""HAProxy in the root namespace: the edge of the sandbox.

It listens only on the sandbox's own loopback address. For PostgreSQL it
offers a write endpoint that follows the Patroni leader (health check on
Patroni's REST ``GET /primary``) and one read endpoint per region. The
config is built from blocks so the HTTP edge for the shop can be appended.
"""

from __future__ import annotations

import csv
import io
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aftershock.config.topology import (
    EDGE_HTTP_PORT,
    EDGE_HTTP_REGION_PORTS,
    EDGE_PG_READ_PORTS,
    EDGE_PG_WRITE_PORT,
    EDGE_STATS_PORT,
    PATRONI_PORT,
    PG_PORT,
    REGIONS,
    SHOP_PORT,
    Topology,
)
from aftershock.sandbox.processes import DaemonSpec

HAPROXY_BIN = "haproxy"

# Check every 250 ms, mark down after 2 failures: a dead leader leaves the
# write endpoint within ~0.5 s and a new one joins it on its first good check.
# `shutdown-sessions` cuts clients still talking to a demoted leader so they
# reconnect to the new one.
SERVER_DEFAULTS = "inter 250ms fall 2 rise 1 on-marked-down shutdown-sessions"


def global_block(topology: Topology) -> str:
    return f"""global
    log stdout format raw local0 info
    stats socket {topology.haproxy_socket} mode 600 level admin
    maxconn 4096
    user haproxy
    group haproxy

defaults
    log global
    mode tcp
    option dontlognull
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
    default-server {SERVER_DEFAULTS}

listen stats
    mode http
    bind {topology.loopback}:{EDGE_STATS_PORT}
    stats enable
    stats uri /stats
    stats refresh 2s
"""


def postgres_blocks(topology: Topology) -> list[str]:
    """The write endpoint (follows the leader) and one read endpoint per region."""
    servers = "\n".join(
        f"    server {r} {topology.address(r)}:{PG_PORT} check port {PATRONI_PORT}" for r in REGIONS
    )
    blocks = [
        f"""listen pg-write
    bind {topology.loopback}:{EDGE_PG_WRITE_PORT}
    option httpchk
    http-check send meth OPTIONS uri /primary
    http-check expect status 200
{servers}
"""
    ]
    for region in REGIONS:
        blocks.append(
            f"""listen pg-read-{region}
    bind {topology.loopback}:{EDGE_PG_READ_PORTS[region]}
    option httpchk
    http-check send meth OPTIONS uri /health
    http-check expect status 200
    server {region} {topology.address(region)}:{PG_PORT} check port {PATRONI_PORT}
"""
        )
    return blocks


@dataclass(frozen=True)
class EdgeChecks:
    """How the edge health-checks each region's shop (`GET /health/readiness`)."""

    interval_ms: int = 500
    fall: int = 2
    rise: int = 2

    def __post_init__(self) -> None:
        if self.interval_ms < 100 or self.fall < 1 or self.rise < 1:
            raise ValueError("edge checks need interval >= 100 ms, fall >= 1 and rise >= 1")

    def server_options(self) -> str:
        return f"check inter {self.interval_ms}ms fall {self.fall} rise {self.rise}"


EDGE_PRESETS = {
    # Fast, for CI and game days in the sandbox: a dead region drains in ~1 s.
    "fast": EdgeChecks(500, 2, 2),
    # As in the architecture record: Route 53 checks every 30 s, 2 failures.
    "route53": EdgeChecks(30_000, 2, 2),
}


def edge_blocks(topology: Topology, checks: EdgeChecks) -> list[str]:
    """The HTTP edge: the Route 53 + ALB stand-in in front of the shops.

    Only the per-region backends run health checks; every other server
    `track`s them, so each shop is checked once however many routes use it.
    A request that cannot connect is re-dispatched to the other region
    (connection failures only: a POST that reached a shop is never re-sent).
    """
    front = """    mode http
    timeout client 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    option dontlog-normal"""
    back = """    mode http
    timeout server 30s"""
    blocks = []
    for region in REGIONS:
        address = f"{topology.address(region)}:{SHOP_PORT}"
        blocks.append(
            f"""backend shop-{region}
{back}
    option httpchk
    http-check send meth GET uri /health/readiness
    http-check expect status 200
    server {region} {address} {checks.server_options()}
"""
        )

    def tracked(region: str, extra: str = "") -> str:
        address = f"{topology.address(region)}:{SHOP_PORT}"
        return f"    server {region} {address} track shop-{region}/{region}{extra}"

    for geo, first, second in (("tw", "taiwan", "tokyo"), ("jp", "tokyo", "taiwan")):
        blocks.append(
            f"""backend geo-{geo}
{back}
    retries 2
    option redispatch 1
{tracked(first)}
{tracked(second, " backup")}
"""
        )
    blocks.append(
        f"""backend weighted
{back}
    balance roundrobin
    retries 2
    option redispatch 1
{tracked("taiwan", " weight 60")}
{tracked("tokyo", " weight 40")}
"""
    )
    blocks.append(
        f"""frontend edge
{front}
    bind {topology.loopback}:{EDGE_HTTP_PORT}
    acl geo_tw req.hdr(X-Geo) -i TW
    acl geo_jp req.hdr(X-Geo) -i JP
    use_backend geo-tw if geo_tw
    use_backend geo-jp if geo_jp
    default_backend weighted
"""
    )
    for region in REGIONS:
        blocks.append(
            f"""frontend edge-{region}
{front}
    bind {topology.loopback}:{EDGE_HTTP_REGION_PORTS[region]}
    default_backend shop-{region}
"""
        )
    return blocks


def render(topology: Topology, extra_blocks: Iterable[str] = ()) -> str:
    """The whole haproxy.cfg; `extra_blocks` are appended (the HTTP edge)."""
    return "\n".join([global_block(topology), *postgres_blocks(topology), *extra_blocks])


def spec(topology: Topology, extra_blocks: Iterable[str] = ()) -> DaemonSpec:
    """Write haproxy.cfg and describe the daemon (master-worker, foreground)."""
    cfg = topology.haproxy_config
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(render(topology, extra_blocks))
    return DaemonSpec(
        name="haproxy",
        log=topology.log_path("haproxy"),
        argv=[HAPROXY_BIN, "-W", "-db", "-f", str(cfg)],
    )


def runtime_command(topology: Topology, command: str, timeout: float = 1.0) -> str:
    """Send one command to HAProxy's runtime API socket and return its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(topology.haproxy_socket))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def server_states(topology: Topology) -> dict[tuple[str, str], str]:
    """(proxy, server) -> status (UP, DOWN, ...) from `show stat`; empty if unreachable."""
    try:
        text = runtime_command(topology, "show stat")
    except OSError:
        return {}
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return {
        (row["pxname"], row["svname"]): row["status"]
        for row in rows
        if row.get("svname") not in (None, "FRONTEND", "BACKEND")
    }
