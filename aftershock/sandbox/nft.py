"""nftables rules inside a site's namespace: the kernel-level network faults.

Each fault owns one table named `aftershock_<fault>`; undoing the fault is
deleting that table, which is idempotent and leaves other faults alone.
"""

from __future__ import annotations

from aftershock.config.topology import Topology
from aftershock.sandbox.shell import CommandFailed, run

ISOLATE_TABLE = "aftershock_isolate"


def isolate_ruleset() -> str:
    """Drop every packet in and out of the namespace except loopback."""
    return f"""table inet {ISOLATE_TABLE} {{
    chain input {{
        type filter hook input priority -100; policy drop;
        iif "lo" accept
    }}
    chain output {{
        type filter hook output priority -100; policy drop;
        oif "lo" accept
    }}
}}
"""


def apply(topology: Topology, site: str, ruleset: str) -> None:
    """Load `ruleset` atomically into the site's namespace."""
    run(["ip", "netns", "exec", topology.netns(site), "nft", "-f", "-"], stdin=ruleset)


def delete_table(topology: Topology, site: str, table: str) -> bool:
    """Delete `table` from the site's namespace; False if it was not there."""
    try:
        run(["ip", "netns", "exec", topology.netns(site), "nft", "delete", "table", "inet", table])
    except CommandFailed as exc:
        if "No such file or directory" in exc.stderr:
            return False
        raise
    return True


def tables(topology: Topology, site: str) -> list[str]:
    """Names of the nftables tables in the site's namespace."""
    out = run(["ip", "netns", "exec", topology.netns(site), "nft", "list", "tables"])
    return [line.split()[-1] for line in out.splitlines() if line.startswith("table")]
