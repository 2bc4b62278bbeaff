"""Event-path faults on the sandbox: brokers, the mirror link, relays and consumers.

A paused daemon is SIGSTOPped (its process group): it holds its sockets
and answers nothing, as a hung broker or a consumer stuck in a GC pause
does. Its undo is SIGCONT. A killed one is SIGKILLed and started again by
its undo with the command the registry recorded.
"""

from __future__ import annotations

import signal
from typing import Any

from aftershock.config.topology import BROKER_LEAF_PORT, REGIONS, Topology, other_region
from aftershock.errors import SandboxError
from aftershock.sandbox import brokers, eventing, nft
from aftershock.targets.local.common import (
    check_choice,
    daemon_pid,
    forget,
    kill_daemon,
    record,
    signal_daemon,
    start_daemon,
)

MIRROR_LINK_TABLE = "aftershock_mirror_link"


def kill_broker(topology: Topology, region: str) -> dict[str, Any]:
    """SIGKILL the region's broker (kill -9: what it had not written is lost)."""
    check_choice(region, REGIONS)
    _require_running(topology, f"broker-{region}", "kill")
    return kill_daemon(topology, "kill_broker", region, f"broker-{region}")


def start_broker(topology: Topology, region: str) -> dict[str, Any]:
    """Start the region's broker if it is not running; wait until JetStream answers. Idempotent."""
    check_choice(region, REGIONS)
    pid = start_daemon(topology, f"broker-{region}", lambda: brokers.healthy(topology, region))
    forget(topology, "kill_broker", {"region": region})
    return {"fault": "start_broker", "region": region, "pid": pid}


def pause_broker(topology: Topology, region: str) -> dict[str, Any]:
    """SIGSTOP the region's broker: connections stay open, nothing is answered."""
    return _pause(topology, "pause_broker", region, f"broker-{region}")


def resume_broker(topology: Topology, region: str) -> dict[str, Any]:
    """Undo `pause_broker` (SIGCONT); idempotent."""
    return _resume(topology, "pause_broker", "resume_broker", region, f"broker-{region}")


def stall_consumer(topology: Topology, region: str) -> dict[str, Any]:
    """SIGSTOP the region's fulfilment consumer: events wait, unacknowledged, in the streams."""
    return _pause(topology, "stall_consumer", region, f"fulfil-{region}")


def resume_consumer(topology: Topology, region: str) -> dict[str, Any]:
    """Undo `stall_consumer` (SIGCONT); idempotent."""
    return _resume(topology, "stall_consumer", "resume_consumer", region, f"fulfil-{region}")


def stop_relay(topology: Topology, region: str) -> dict[str, Any]:
    """SIGKILL the region's outbox relay: orders commit, their events wait in the outbox."""
    check_choice(region, REGIONS)
    _require_running(topology, f"relay-{region}", "stop")
    return kill_daemon(topology, "stop_relay", region, f"relay-{region}")


def start_relay(topology: Topology, region: str) -> dict[str, Any]:
    """Start the region's relay if it is not running; wait until it reaches its broker."""
    check_choice(region, REGIONS)
    ready = lambda: eventing.connected(topology, region, "relay")  # noqa: E731
    pid = start_daemon(topology, f"relay-{region}", ready)
    forget(topology, "stop_relay", {"region": region})
    return {"fault": "start_relay", "region": region, "pid": pid}


def mirror_link_ruleset(topology: Topology, region: str) -> str:
    """Drop only the leafnode traffic between `region` and the other region, both ways.

    Output after NAT, as `partition_ruleset`: a link rerouted through a third site is not cut.
    """
    peer = topology.address(other_region(region))
    port = BROKER_LEAF_PORT
    return f"""table inet {MIRROR_LINK_TABLE} {{
    chain input {{
        type filter hook input priority -100; policy accept;
        ip saddr {peer} tcp dport {port} drop
        ip saddr {peer} tcp sport {port} drop
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        ip daddr {peer} tcp dport {port} drop
        ip daddr {peer} tcp sport {port} drop
    }}
}}
"""


def cut_mirror_link(topology: Topology) -> dict[str, Any]:
    """Cut the brokers' inter-region link only: the database and the shops still talk."""
    entry = record(topology, "cut_mirror_link", {}, "the mirror link is cut")
    applied = []
    try:
        for region in REGIONS:
            nft.apply(topology, region, mirror_link_ruleset(topology, region))
            applied.append(region)
    except Exception:
        for region in applied:
            nft.delete_table(topology, region, MIRROR_LINK_TABLE)
        forget(topology, "cut_mirror_link", {})
        raise
    return {"fault": "cut_mirror_link", "id": entry.id, "nft_table": MIRROR_LINK_TABLE}


def heal_mirror_link(topology: Topology) -> dict[str, Any]:
    """Undo `cut_mirror_link`; idempotent."""
    removed = [nft.delete_table(topology, region, MIRROR_LINK_TABLE) for region in REGIONS]
    forget(topology, "cut_mirror_link", {})
    return {"fault": "heal_mirror_link", "removed": any(removed)}


def _require_running(topology: Topology, daemon: str, verb: str) -> None:
    """Refuse a fault that would act on nothing: it would pass as injected and test nothing."""
    if daemon_pid(topology, daemon) is None:
        raise SandboxError(
            f"{daemon} is not running: nothing to {verb}; `aftershock sandbox status` "
            "shows what is down (`sandbox down` and `up` rebuild it)"
        )


def _pause(topology: Topology, fault: str, region: str, daemon: str) -> dict[str, Any]:
    check_choice(region, REGIONS)
    _require_running(topology, daemon, "pause")
    entry = record(topology, fault, {"region": region}, f"{daemon} is paused")
    pid = signal_daemon(topology, daemon, signal.SIGSTOP)
    return {"fault": fault, "id": entry.id, "region": region, "paused_pid": pid}


def _resume(topology: Topology, fault: str, undo: str, region: str, daemon: str) -> dict[str, Any]:
    check_choice(region, REGIONS)
    pid = signal_daemon(topology, daemon, signal.SIGCONT)
    forget(topology, fault, {"region": region})
    return {"fault": undo, "region": region, "resumed_pid": pid}
