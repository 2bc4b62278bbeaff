"""Redis: one per region (catalog cache and carts), password-protected."""

from __future__ import annotations

import redis

from aftershock.config.topology import REDIS_PORT, REGIONS, Topology
from aftershock.sandbox.credentials import Credentials, private_dir, write_private
from aftershock.sandbox.processes import DaemonSpec

REDIS_USER = "redis"


def config_text(topology: Topology, region: str, creds: Credentials) -> str:
    """redis.conf for the region: bound to its address only, no persistence."""
    data_dir = topology.site_dir(region) / "redis"
    return "\n".join(
        [
            f"bind {topology.address(region)}",
            f"port {REDIS_PORT}",
            "protected-mode yes",
            f"requirepass {creds.redis}",
            "daemonize no",
            'logfile ""',
            f"dir {data_dir}",
            # A cache and carts: losing them on restart is the realistic failure.
            'save ""',
            "appendonly no",
            "maxmemory 256mb",
            "maxmemory-policy noeviction",
            "",
        ]
    )


def spec(topology: Topology, region: str, creds: Credentials) -> DaemonSpec:
    """Write the region's redis.conf (readable only by redis) and describe its daemon."""
    return redis_daemon(topology, region, "redis", config_text(topology, region, creds))


def redis_daemon(topology: Topology, region: str, kind: str, config: str) -> DaemonSpec:
    """A Redis of `region` named `<kind>-<region>`: data in `<kind>/`, config `<kind>.conf`."""
    if region not in REGIONS:
        raise ValueError(f"Redis runs only in {REGIONS}, not in {region!r}")
    private_dir(topology.site_dir(region) / kind, owner=REDIS_USER)
    conf = topology.site_dir(region) / f"{kind}.conf"
    write_private(conf, config, owner=REDIS_USER)
    return DaemonSpec(
        name=f"{kind}-{region}",
        netns=topology.netns(region),
        user=REDIS_USER,
        log=topology.log_path(f"{kind}-{region}"),
        argv=["redis-server", str(conf)],
    )


def client(
    topology: Topology,
    region: str,
    creds: Credentials,
    timeout: float = 1.0,
    port: int = REDIS_PORT,
) -> redis.Redis:
    """A client for a Redis of the region over the client path (the region's address).

    `port` picks which: the carts' (the default) or the catalog cache's.
    """
    return redis.Redis(
        host=topology.address(region),
        port=port,
        password=creds.redis,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )


def healthy(topology: Topology, region: str, creds: Credentials) -> bool:
    """True when the region's Redis answers an authenticated PING."""
    try:
        with client(topology, region, creds) as conn:
            return bool(conn.ping())
    except redis.RedisError:
        return False
