"""Names, addresses and ports of one sandbox, all derived from its name.

Every kernel object and directory a sandbox owns carries its name, so two
sandboxes coexist and stale ones are found by exact match (DESIGN rule 7).
This module is pure: it computes names, it never touches the machine.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from aftershock.errors import SandboxError

SITES = ("taiwan", "tokyo", "witness")
"""Every site: two regions that serve traffic and a witness that only holds quorum."""

REGIONS = ("taiwan", "tokyo")
"""The sites that run PostgreSQL, Redis and the shop."""


def other_region(region: str) -> str:
    """The other region of the pair."""
    if region not in REGIONS:
        raise ValueError(f"{region!r} is not one of {REGIONS}")
    return next(r for r in REGIONS if r != region)


SHORT = {"taiwan": "tw", "tokyo": "jp", "witness": "wt"}
HOST_OCTET = {"taiwan": 11, "tokyo": 12, "witness": 13}

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,7}$")
"""Linux interface names stop at 15 bytes: `<name>-tw-ns` must fit."""

DEFAULT_NAME = "as"
DEFAULT_STATE_ROOT = Path("/var/lib/aftershock")

# 198.18.0.0/15 is reserved for benchmarking test networks (RFC 2544): it
# can never collide with a real private or public network on the host.
SUBNET_PREFIX = "198.18"
LOOPBACK_PREFIX = "127.18"

PG_PORT = 5432
PATRONI_PORT = 8008
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
REDIS_PORT = 6379
CATALOG_PORT = 6380

CACHE_PRIMARY = "taiwan"
"""The region whose catalog cache takes writes in the steady state (Global Datastore primary)."""
SHOP_PORT = 8000
BROKER_PORT = 4222
BROKER_LEAF_PORT = 7422
BROKER_MONITOR_PORT = 8222

EVENTS_HUB = "taiwan"
"""The region whose broker listens for the inter-region leafnode link; the other dials it."""

# HAProxy listens in the root namespace on the sandbox's own loopback address.
EDGE_PG_WRITE_PORT = 5432
EDGE_PG_READ_PORTS = {"taiwan": 5433, "tokyo": 5434}
EDGE_STATS_PORT = 8404
EDGE_HTTP_PORT = 8080
EDGE_HTTP_REGION_PORTS = {"taiwan": 8081, "tokyo": 8082}


class InvalidName(SandboxError):
    """A sandbox name that cannot be used for kernel objects."""


def check_name(name: str) -> str:
    """Return `name` if it can name a sandbox, else raise `InvalidName`."""
    if not NAME_PATTERN.match(name):
        raise InvalidName(
            f"invalid sandbox name {name!r}: use 1-8 characters, a lowercase letter "
            "followed by lowercase letters or digits (it prefixes interface names)"
        )
    return name


@dataclass(frozen=True)
class Topology:
    """Where everything of the sandbox `name` lives."""

    name: str
    state_root: Path = DEFAULT_STATE_ROOT

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def subnet_index(self) -> int:
        """Third octet of the sandbox's /24; stable for a name, 10..249."""
        return zlib.crc32(self.name.encode()) % 240 + 10

    @property
    def state_dir(self) -> Path:
        return self.state_root / self.name

    @property
    def bridge(self) -> str:
        return f"{self.name}-br"

    @property
    def gateway(self) -> str:
        """The root namespace's address on the sandbox bridge ("the internet")."""
        return f"{SUBNET_PREFIX}.{self.subnet_index}.1"

    @property
    def subnet(self) -> str:
        return f"{SUBNET_PREFIX}.{self.subnet_index}.0/24"

    @property
    def loopback(self) -> str:
        """The root-namespace loopback address where the sandbox's edge listens."""
        return f"{LOOPBACK_PREFIX}.{self.subnet_index}.1"

    @property
    def scope(self) -> str:
        """Patroni cluster name."""
        return self.name

    def netns(self, site: str) -> str:
        return f"{self.name}-{_site(site)}"

    def namespaces(self) -> list[str]:
        return [self.netns(site) for site in SITES]

    def veth_host(self, site: str) -> str:
        return f"{self.name}-{SHORT[_site(site)]}"

    def veth_peer(self, site: str) -> str:
        return f"{self.name}-{SHORT[_site(site)]}-ns"

    def address(self, site: str) -> str:
        return f"{SUBNET_PREFIX}.{self.subnet_index}.{HOST_OCTET[_site(site)]}"

    def site_of(self, address: str) -> str | None:
        """The site that owns `address`, or None."""
        for site in SITES:
            if self.address(site) == address:
                return site
        return None

    def etcd_client_url(self, site: str) -> str:
        return f"http://{self.address(site)}:{ETCD_CLIENT_PORT}"

    def etcd_peer_url(self, site: str) -> str:
        return f"http://{self.address(site)}:{ETCD_PEER_PORT}"

    def patroni_url(self, site: str) -> str:
        return f"http://{self.address(site)}:{PATRONI_PORT}"

    def shop_url(self, region: str) -> str:
        """The region's shop, directly (not through the edge)."""
        return f"http://{self.address(region)}:{SHOP_PORT}"

    def broker_url(self, region: str) -> str:
        """The region's NATS JetStream broker (client port, no credentials)."""
        return f"nats://{self.address(region)}:{BROKER_PORT}"

    def broker_monitor_url(self, region: str) -> str:
        """The broker's HTTP monitoring endpoint (/healthz, /jsz, /leafz)."""
        return f"http://{self.address(region)}:{BROKER_MONITOR_PORT}"

    @property
    def edge_url(self) -> str:
        """The global edge: geo routing by X-Geo, 60/40 otherwise, failover."""
        return f"http://{self.loopback}:{EDGE_HTTP_PORT}"

    def edge_region_url(self, region: str) -> str:
        """The edge's direct endpoint of one region (no failover)."""
        return f"http://{self.loopback}:{EDGE_HTTP_REGION_PORTS[_site(region)]}"

    def site_dir(self, site: str) -> Path:
        return self.state_dir / _site(site)

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def log_path(self, component: str) -> Path:
        return self.log_dir / f"{component}.log"

    @property
    def haproxy_config(self) -> Path:
        return self.state_dir / "haproxy" / "haproxy.cfg"

    @property
    def haproxy_socket(self) -> Path:
        return self.state_dir / "haproxy" / "admin.sock"


def _site(site: str) -> str:
    if site not in SITES:
        raise ValueError(f"unknown site {site!r}: choose one of {', '.join(SITES)}")
    return site
