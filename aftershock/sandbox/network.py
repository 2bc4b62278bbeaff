"""The sandbox's network: one namespace per site, joined by a bridge in the root namespace.

The root namespace plays "the internet": it holds the bridge's gateway address,
so clients and the edge reach every site, and the sites reach each other over
the same bridge. Faults are nftables rules inside the namespaces; deleting a
namespace removes them with it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from aftershock.config.topology import SITES, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox.shell import run


class AddressInUse(SandboxError):
    """Another interface already owns the sandbox's subnet."""


def existing_namespaces() -> set[str]:
    """Names of all network namespaces on the machine."""
    out = run(["ip", "-json", "netns", "list"])
    # `ip -json netns list` prints nothing at all when there is no namespace.
    return {entry["name"] for entry in json.loads(out or "[]")}


def existing_links() -> set[str]:
    """Names of all links in the root namespace."""
    return {link["ifname"] for link in json.loads(run(["ip", "-json", "link", "show"]) or "[]")}


def owned_links(topology: Topology) -> list[str]:
    """Root-namespace links that belong to this sandbox, by exact name."""
    ours = {topology.bridge} | {topology.veth_host(s) for s in SITES}
    ours |= {topology.veth_peer(s) for s in SITES}
    return sorted(ours & existing_links())


def owned_namespaces(topology: Topology) -> list[str]:
    """This sandbox's namespaces that exist now, by exact name."""
    return sorted(set(topology.namespaces()) & existing_namespaces())


def _check_subnet_free(topology: Topology) -> None:
    addresses = json.loads(run(["ip", "-json", "-4", "addr", "show"]) or "[]")
    prefix = topology.gateway.rsplit(".", 1)[0] + "."
    for link in addresses:
        for info in link.get("addr_info", []):
            if info.get("local", "").startswith(prefix) and link["ifname"] != topology.bridge:
                raise AddressInUse(
                    f"subnet {topology.subnet} is already used by interface {link['ifname']}; "
                    "choose another sandbox name with --name"
                )


NETNS_ETC = Path("/etc/netns")
"""`ip netns exec NS` bind-mounts /etc/netns/NS/* over /etc inside the namespace."""


def hosts_text(topology: Topology) -> str:
    """/etc/hosts for the sandbox's namespaces: every site by name, nothing else."""
    lines = ["127.0.0.1 localhost"]
    lines += [f"{topology.address(s)} {s}.{topology.name}.sandbox {s}" for s in SITES]
    return "\n".join(lines) + "\n"


def write_resolver_files(topology: Topology) -> None:
    """Give each namespace its own hosts file and a resolver that answers at once.

    The host's DNS server is unreachable from inside a namespace, and Patroni's
    REST server resolves its own address at start (`socket.getfqdn`): with the
    host's resolv.conf that lookup hangs for 10 s on every node start.
    """
    for ns in topology.namespaces():
        etc = NETNS_ETC / ns
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(hosts_text(topology))
        (etc / "resolv.conf").write_text("# aftershock sandbox: no DNS inside the sandbox\n")


def create(topology: Topology) -> None:
    """Create the bridge and one namespace per site with its address.

    Raises `AddressInUse` before touching anything when the subnet is taken.
    """
    _check_subnet_free(topology)
    write_resolver_files(topology)
    br = topology.bridge
    run(["ip", "link", "add", br, "type", "bridge"])
    run(["ip", "addr", "add", f"{topology.gateway}/24", "dev", br])
    run(["ip", "link", "set", br, "up"])
    for site in SITES:
        ns, host, peer = topology.netns(site), topology.veth_host(site), topology.veth_peer(site)
        run(["ip", "netns", "add", ns])
        run(["ip", "link", "add", host, "type", "veth", "peer", "name", peer])
        run(["ip", "link", "set", host, "master", br, "up"])
        run(["ip", "link", "set", peer, "netns", ns])
        run(["ip", "-n", ns, "addr", "add", f"{topology.address(site)}/24", "dev", peer])
        run(["ip", "-n", ns, "link", "set", peer, "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "route", "add", "default", "via", topology.gateway])


def destroy(topology: Topology, timeout: float = 5.0) -> None:
    """Delete the sandbox's namespaces and links; idempotent.

    Namespace deletion is asynchronous in the kernel: veth ends linger for a
    moment, so wait until they are gone before anyone re-creates the names.
    Processes still inside a namespace keep it alive; stop them first.
    """
    for ns in owned_namespaces(topology):
        run(["ip", "netns", "delete", ns], check=False)
    for link in owned_links(topology):
        run(["ip", "link", "delete", link], check=False)
    for ns in topology.namespaces():
        shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
    deadline = time.monotonic() + timeout
    while owned_links(topology) or owned_namespaces(topology):
        if time.monotonic() > deadline:
            left = owned_links(topology) + owned_namespaces(topology)
            raise SandboxError(f"network of sandbox {topology.name} still present: {left}")
        time.sleep(0.05)


def namespace_pids(namespace: str) -> list[int]:
    """PIDs of every process inside `namespace` (empty if it does not exist)."""
    out = run(["ip", "netns", "pids", namespace], check=False)
    return [int(tok) for tok in out.split() if tok.isdigit()]
