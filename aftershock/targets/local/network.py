"""Network faults between two sites: partition, throttle, delay.

A partition is nftables rules in both namespaces that drop only the other
site's address: clients (the root namespace) still reach both. Throttling
and delay are traffic-control qdiscs on each site's interface, with a filter
so only traffic to the other site is affected.
"""

from __future__ import annotations

from typing import Any

from aftershock.config.topology import HOST_OCTET, SITES, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import nft
from aftershock.sandbox.shell import CommandFailed, run
from aftershock.targets.local.common import (
    FaultUnavailable,
    act_or_forget,
    check_choice,
    forget,
    record,
)

MAX_KBIT = 10_000_000
MAX_DELAY_MS = 60_000


def _pair(a: str, b: str) -> dict[str, str]:
    check_choice(a, SITES)
    check_choice(b, SITES)
    if a == b:
        raise SandboxError(f"a link needs two different sites, not {a!r} twice")
    first, second = sorted((a, b))
    return {"a": first, "b": second}


def partition_table(peer: str) -> str:
    return f"aftershock_partition_{peer}"


def partition_ruleset(topology: Topology, peer: str) -> str:
    """Drop what comes from `peer` and what leaves for it.

    The output chain runs at filter priority (0), after NAT (-100): it sees
    a packet as the network would, by where it really goes. Before NAT it
    judged the address a socket dialed, and dropped traffic rewritten to go
    around the cut through a third site (the `transit` breakage).
    """
    address = topology.address(peer)
    return f"""table inet {partition_table(peer)} {{
    chain input {{
        type filter hook input priority -100; policy accept;
        ip saddr {address} drop
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        ip daddr {address} drop
    }}
}}
"""


def partition_regions(topology: Topology, a: str, b: str) -> dict[str, Any]:
    """Cut the link between sites `a` and `b` in both directions; clients reach both."""
    pair = _pair(a, b)
    entry = record(topology, "partition_regions", pair, f"{pair['a']} and {pair['b']} are cut")
    for here, peer in _directions(pair):
        nft.apply(topology, here, partition_ruleset(topology, peer))
    return {"fault": "partition_regions", "id": entry.id, **pair,
            "nft_tables": [partition_table(pair["b"]), partition_table(pair["a"])]}  # fmt: skip


def heal_partition(topology: Topology, a: str, b: str) -> dict[str, Any]:
    """Undo `partition_regions`; idempotent."""
    pair = _pair(a, b)
    removed = [
        nft.delete_table(topology, here, partition_table(peer)) for here, peer in _directions(pair)
    ]
    forget(topology, "partition_regions", pair)
    return {"fault": "heal_partition", **pair, "removed": any(removed)}


def _tc(topology: Topology, site: str, *args: str, check: bool = True) -> str:
    return run(["ip", "netns", "exec", topology.netns(site), "tc", *args], check=check)


def _classid(peer: str) -> str:
    return f"1:{HOST_OCTET[peer]}"


def _shape(topology: Topology, here: str, peer: str, leaf: list[str]) -> None:
    """Send traffic from `here` to `peer` through the `leaf` qdisc; the rest is untouched.

    One htb root per site (created on first use) with an unlimited default
    class 1:10, and one unlimited class per shaped peer (1:<peer octet>)
    whose leaf is tbf or netem, picked by a u32 filter on the peer's address.
    htb is used because this kernel has no prio qdisc; the per-peer classes
    let taiwan-tokyo and witness-tokyo be shaped at the same time.
    """
    dev = topology.veth_peer(here)
    classid = _classid(peer)
    if "htb 1:" not in _tc(topology, here, "qdisc", "show", "dev", dev):
        _tc(topology, here, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb",
            "default", "10")  # fmt: skip
        _tc(topology, here, "class", "add", "dev", dev, "parent", "1:", "classid", "1:10",
            "htb", "rate", "10gbit")  # fmt: skip
    _tc(topology, here, "class", "add", "dev", dev, "parent", "1:", "classid", classid,
        "htb", "rate", "10gbit")  # fmt: skip
    _tc(topology, here, "qdisc", "add", "dev", dev, "parent", classid, *leaf)
    _tc(topology, here, "filter", "add", "dev", dev, "protocol", "ip", "parent", "1:", "prio",
        str(HOST_OCTET[peer]), "u32", "match", "ip", "dst", f"{topology.address(peer)}/32",
        "flowid", classid)  # fmt: skip


def _unshape(topology: Topology, here: str, peer: str) -> bool:
    """Remove the shaping of `here` -> `peer`; the root goes with the last class. Idempotent."""
    dev = topology.veth_peer(here)
    classes = _tc(topology, here, "class", "show", "dev", dev)
    if f"htb {_classid(peer)} " not in classes:
        return False
    _tc(topology, here, "filter", "del", "dev", dev, "parent", "1:", "protocol", "ip", "prio",
        str(HOST_OCTET[peer]), check=False)  # fmt: skip
    _tc(topology, here, "class", "del", "dev", dev, "classid", _classid(peer))
    remaining = _tc(topology, here, "class", "show", "dev", dev)
    if not [line for line in remaining.splitlines() if "1:10 " not in line]:
        _tc(topology, here, "qdisc", "del", "dev", dev, "root")
    return True


def _directions(pair: dict[str, str]) -> list[tuple[str, str]]:
    return [(pair["a"], pair["b"]), (pair["b"], pair["a"])]


def _shape_both(topology: Topology, pair: dict[str, str], leaf: list[str]) -> None:
    """Shape both directions, or neither: a failure removes what was added."""
    try:
        for here, peer in _directions(pair):
            _shape(topology, here, peer, leaf)
    except CommandFailed as exc:
        for here, peer in _directions(pair):
            _unshape(topology, here, peer)
        if "unknown" in exc.stderr.lower():
            raise FaultUnavailable(
                f"the {leaf[0]} qdisc is not available in this kernel ({exc.stderr})"
            ) from exc
        raise


def _shape_link(
    topology: Topology, fault: str, pair: dict[str, str], leaf: list[str]
) -> dict[str, Any]:
    """Record and apply one shaping fault on a link; one shaping per link at a time."""
    other = "delay_link" if fault == "throttle_link" else "throttle_link"
    busy = f"{pair['a']}-{pair['b']} is shaped"
    entry = record(topology, fault, pair, busy, conflicts=(other,))
    act_or_forget(topology, entry, lambda: _shape_both(topology, pair, leaf))
    return {"fault": fault, "id": entry.id, **pair}


def throttle_link(topology: Topology, a: str, b: str, kbit: int) -> dict[str, Any]:
    """Limit traffic between `a` and `b` to `kbit` kbit/s each way (tbf)."""
    pair = _pair(a, b)
    if not 1 <= int(kbit) <= MAX_KBIT:
        raise SandboxError(f"kbit must be between 1 and {MAX_KBIT}, not {kbit}")
    leaf = ["tbf", "rate", f"{int(kbit)}kbit", "burst", "32kbit", "latency", "400ms"]
    return _shape_link(topology, "throttle_link", pair, leaf) | {"kbit": int(kbit)}


def unthrottle_link(topology: Topology, a: str, b: str) -> dict[str, Any]:
    """Undo `throttle_link` (or `delay_link`: both own the root qdisc); idempotent."""
    pair = _pair(a, b)
    removed = [_unshape(topology, here, peer) for here, peer in _directions(pair)]
    forget(topology, "throttle_link", pair)
    forget(topology, "delay_link", pair)
    return {"fault": "unthrottle_link", **pair, "removed": any(removed)}


def delay_link(topology: Topology, a: str, b: str, ms: int) -> dict[str, Any]:
    """Add `ms` of latency between `a` and `b` each way (netem, where the kernel has it)."""
    pair = _pair(a, b)
    if not 1 <= int(ms) <= MAX_DELAY_MS:
        raise SandboxError(f"ms must be between 1 and {MAX_DELAY_MS}, not {ms}")
    leaf = ["netem", "delay", f"{int(ms)}ms"]
    return _shape_link(topology, "delay_link", pair, leaf) | {"ms": int(ms)}


def undelay_link(topology: Topology, a: str, b: str) -> dict[str, Any]:
    """Undo `delay_link`; idempotent."""
    result = unthrottle_link(topology, a, b)
    return result | {"fault": "undelay_link"}
