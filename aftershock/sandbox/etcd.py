"""etcd: the 3-member DCS, one member per site."""

from __future__ import annotations

from aftershock.config.topology import SITES, Topology
from aftershock.sandbox.credentials import private_dir
from aftershock.sandbox.http import get
from aftershock.sandbox.processes import DaemonSpec

ETCD_USER = "etcd"

# Fast elections so a lost member is replaced well inside Patroni's TTL.
HEARTBEAT_MS = 100
ELECTION_MS = 1000


def spec(topology: Topology, site: str) -> DaemonSpec:
    """The etcd member of `site`, listening only on the site's address."""
    data_dir = private_dir(topology.site_dir(site) / "etcd", owner=ETCD_USER)
    cluster = ",".join(f"{s}={topology.etcd_peer_url(s)}" for s in SITES)
    return DaemonSpec(
        name=f"etcd-{site}",
        netns=topology.netns(site),
        user=ETCD_USER,
        log=topology.log_path(f"etcd-{site}"),
        argv=[
            "etcd",
            f"--name={site}",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={topology.etcd_client_url(site)}",
            f"--advertise-client-urls={topology.etcd_client_url(site)}",
            f"--listen-peer-urls={topology.etcd_peer_url(site)}",
            f"--initial-advertise-peer-urls={topology.etcd_peer_url(site)}",
            f"--initial-cluster={cluster}",
            f"--initial-cluster-token={topology.name}-etcd",
            "--initial-cluster-state=new",
            f"--heartbeat-interval={HEARTBEAT_MS}",
            f"--election-timeout={ELECTION_MS}",
            # Without pre-vote (off by default before etcd 3.5) a member cut
            # off from the others keeps raising its term, and on rejoining
            # forces the healthy majority to elect again: 3 s without a DCS,
            # enough for Patroni to demote the new leader. The RTO probe
            # found it as a second outage after every region isolation.
            "--pre-vote=true",
        ],
    )


def healthy(topology: Topology, site: str) -> bool:
    """True when the member answers /health with a quorum behind it."""
    answer = get(f"{topology.etcd_client_url(site)}/health")
    return answer is not None and answer[0] == 200 and answer[1].get("health") == "true"
