"""Event path breakages: a mirror link that stalls, a stream that forgets, a consumer that stops."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any

from nats.js import JetStreamContext

from aftershock.config.topology import BROKER_LEAF_PORT, REGIONS, Topology, other_region
from aftershock.sandbox import nft
from aftershock.sandbox.brokers import mirror_name
from aftershock.sandbox.event_streams import with_jetstream
from aftershock.sandbox.state import load_credentials, registry
from aftershock.targets.local.common import daemon_pid, start_daemon

LINK_TABLE = "aftershock_breakage_link"


def mirror_link_blocked(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """The brokers' inter-region link drops every packet, as a stalled or dead link does.

    The same rules a `cut_mirror_link` fault loads, in a table of its own
    and never in the fault ledger: no fault window excuses the lag.
    """
    for region in REGIONS:
        peer = topology.address(other_region(region))
        nft.apply(topology, region, _link_rules(peer))
    return {"regions": list(REGIONS)}


def undo_mirror_link_blocked(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    for region in REGIONS:
        nft.delete_table(topology, region, LINK_TABLE)


def _link_rules(peer: str) -> str:
    port = BROKER_LEAF_PORT
    return f"""table inet {LINK_TABLE} {{
    chain input {{
        type filter hook input priority -90; policy accept;
        ip saddr {peer} tcp dport {port} drop
        ip saddr {peer} tcp sport {port} drop
    }}
    chain output {{
        type filter hook output priority -90; policy accept;
        ip daddr {peer} tcp dport {port} drop
        ip daddr {peer} tcp sport {port} drop
    }}
}}
"""


def retention_cut(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s copy of the other region's orders keeps events only `max_age_s` (1 s).

    A stream limit set too short: the mirror still advances and the lag is
    zero, but the events are gone from that region's copy within a second.
    """
    region = params.get("region", "tokyo")
    stream = mirror_name(other_region(region))
    seconds = float(params.get("max_age_s", 1.0))

    async def shorten(js: JetStreamContext) -> float:
        info = await js.stream_info(stream)
        before = float(info.config.max_age or 0.0)
        info.config.max_age = seconds
        await js.update_stream(info.config)
        return before

    before = with_jetstream(topology, region, load_credentials(topology), shorten)
    return {"region": region, "stream": stream, "max_age_s": before}


def undo_retention_cut(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    region = touched.get("region") or params.get("region", "tokyo")
    stream = mirror_name(other_region(region))
    before = float(touched.get("max_age_s") or 0.0)

    async def restore(js: JetStreamContext) -> None:
        info = await js.stream_info(stream)
        info.config.max_age = before
        await js.update_stream(info.config)

    with_jetstream(topology, region, load_credentials(topology), restore)


def relay_killed(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s outbox relay SIGKILLed, as an OOM kill would do it: the outbox fills."""
    region = params.get("region", "taiwan")
    os.killpg(registry(topology).load()[f"relay-{region}"].pid, signal.SIGKILL)
    return {"region": region}


def undo_relay_killed(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    from aftershock.sandbox import eventing

    region = params.get("region", "taiwan")
    if daemon_pid(topology, f"relay-{region}") is None:
        start_daemon(
            topology, f"relay-{region}", lambda: eventing.connected(topology, region, "relay")
        )


def consumer_frozen(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s fulfilment consumer frozen (SIGSTOP): it delivers nothing more."""
    region = params.get("region", "taiwan")
    pid = daemon_pid(topology, f"fulfil-{region}")
    if pid is None:
        raise ProcessLookupError(f"fulfil-{region} is not running")
    os.killpg(pid, signal.SIGSTOP)
    return {"region": region, "pid": pid}


def undo_consumer_frozen(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    pid = touched.get("pid") or daemon_pid(topology, f"fulfil-{params.get('region', 'taiwan')}")
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGCONT)
