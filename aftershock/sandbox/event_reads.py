"""What the sandbox's event path holds: mirror lag, outbox backlog, events and deliveries.

Read over the client paths the harness has from the root namespace: each
broker's monitoring port and client port, and the PostgreSQL leader. A
broker that does not answer is named in `unreachable`: the caller decides
that it could not look, never that nothing was behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nats
import psycopg

from aftershock.config.topology import REGIONS, Topology, other_region
from aftershock.sandbox import brokers, event_streams, eventing
from aftershock.sandbox.endpoints import connect, connect_node
from aftershock.sandbox.shop.schema import DATABASE
from aftershock.sandbox.state import load_credentials, writers_of


@dataclass
class MirrorLag:
    """How far each region's mirror is behind the other region's stream."""

    # "<mirror region> <- <source region>" -> messages and seconds behind
    mirrors: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def max_messages(self) -> int | None:
        values = [m["messages"] for m in self.mirrors.values()]
        return max(values) if values and not self.unreachable else None

    @property
    def max_seconds(self) -> float | None:
        values = [m["seconds"] for m in self.mirrors.values()]
        return max(values) if values and not self.unreachable else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "mirrors": self.mirrors,
            "unreachable": self.unreachable,
            "max_messages": self.max_messages,
            "max_seconds": self.max_seconds,
        }


def mirror_lag(topology: Topology, timeout: float = 1.0) -> MirrorLag:
    """Messages and seconds each mirror is behind its source, read from both brokers.

    Messages: the source stream's last sequence minus the mirror's (a mirror
    keeps its source's sequence numbers). Seconds: the age of the oldest
    message the mirror does not hold yet, 0 when it holds them all. A
    mirror's own `lag` field is not used: across a cut link it is stale.
    """
    creds = load_credentials(topology)
    states = {r: brokers.streams(topology, r, timeout) for r in REGIONS}
    found = MirrorLag()
    for region, held in states.items():
        if not held:
            found.unreachable[region] = f"broker-{region} monitoring does not answer"
    for region in REGIONS:
        source = other_region(region)
        if region in found.unreachable or source in found.unreachable:
            continue
        name = brokers.mirror_name(source)
        source_last = _last_seq(states[source].get(brokers.STREAM))
        mirror_last = _last_seq(states[region].get(name))
        if source_last is None or mirror_last is None:
            found.unreachable[region] = f"stream {name} or its source is missing"
            continue
        behind = max(0, source_last - mirror_last)
        seconds = 0.0
        if behind:
            try:
                stored = event_streams.message_time(
                    topology, source, creds, brokers.STREAM, mirror_last + 1,
                    brokers.subject(source),
                )  # fmt: skip
            except (event_streams.BrokerUnreachable, nats.errors.Error) as exc:
                found.unreachable[source] = str(exc)
                continue
            if stored is None:
                found.unreachable[source] = f"events from {mirror_last + 1} on could not be dated"
                continue
            seconds = max(0.0, time.time() - stored)
        found.mirrors[f"{region} <- {source}"] = {
            "messages": behind,
            "seconds": round(seconds, 3),
            "source_last_seq": source_last,
            "mirror_last_seq": mirror_last,
        }
    return found


def stream_heads(topology: Topology) -> dict[str, int | None]:
    """Each region's own `orders` stream's last sequence (None when its broker does not answer)."""
    heads: dict[str, int | None] = {}
    for region in REGIONS:
        heads[region] = _last_seq(brokers.streams(topology, region).get(brokers.STREAM))
    return heads


def outbox_backlog(topology: Topology, timeout: float = 2.0) -> dict[str, dict[str, Any]]:
    """Per region: outbox rows waiting for the relay, the newest row id, the oldest row's age."""
    query = (
        "SELECT region, count(*), max(id),"
        " EXTRACT(epoch FROM now() - min(created_at))::float8 FROM outbox"
        " WHERE region = ANY(%s) GROUP BY region"
    )
    rows: list[Any] = []
    for regions, conn in _outboxes(topology, timeout):
        with conn:
            rows += conn.execute(query, (regions,)).fetchall()
    backlog = {r: {"rows": 0, "max_id": 0, "oldest_s": 0.0} for r in REGIONS}
    for region, count, max_id, oldest in rows:
        backlog[region] = {"rows": int(count), "max_id": int(max_id), "oldest_s": round(oldest, 3)}
    return backlog


def outbox_rows_up_to(topology: Topology, region: str, max_id: int) -> int:
    """How many of the region's outbox rows with id <= `max_id` are still waiting."""
    waiting = 0
    for regions, conn in _outboxes(topology, 2.0):
        with conn:
            if region not in regions:
                continue
            row = conn.execute(
                "SELECT count(*) FROM outbox WHERE region = %s AND id <= %s", (region, max_id)
            ).fetchone()
            waiting += int(row[0]) if row else 0
    return waiting


def _outboxes(
    topology: Topology, timeout: float
) -> Iterator[tuple[list[str], psycopg.Connection[Any]]]:
    """Where each region's outbox lives: the leader's database holds both regions'
    (single writer); each region's own primary holds its own (multi-writer, where the
    outbox is not replicated)."""
    creds = load_credentials(topology)
    if writers_of(topology) != "multi-writer":
        yield list(REGIONS), connect(topology, creds, "write", dbname=DATABASE, timeout=timeout)
        return
    for region in REGIONS:
        yield [region], connect_node(topology, region, creds, DATABASE, timeout)


def copies(
    topology: Topology, prefix: str, since: float
) -> tuple[dict[str, list[str | None]], dict[str, str]]:
    """Each region's copy of a load run's events (own stream + mirror), and who could not be read.

    The run's events are those whose key starts with its `prefix`, and those
    with no key stored since `since` (the run's start): they belong to no
    order at all.
    """
    creds = load_credentials(topology)
    held: dict[str, list[str | None]] = {}
    unreadable: dict[str, str] = {}
    for region in REGIONS:
        keys: list[str | None] = []
        try:
            for stream in (brokers.STREAM, brokers.mirror_name(other_region(region))):
                events = event_streams.read_events(topology, region, creds, stream)
                keys += [e.key for e in events if _of_run(e.key, e.at, prefix, since)]
        except (event_streams.BrokerUnreachable, nats.errors.Error, OSError, TimeoutError) as exc:
            # A broker just restarted answers JetStream errors until it is ready.
            unreadable[region] = f"{type(exc).__name__}: {exc}"
            continue
        held[region] = keys
    return held, unreadable


def deliveries(topology: Topology, prefix: str, since: float) -> dict[str, list[str | None]]:
    """Each region's fulfilment deliveries of a load run's events (as `copies` chooses them)."""
    found: dict[str, list[str | None]] = {}
    for region in REGIONS:
        found[region] = [
            d.get("key")
            for d in eventing.deliveries(topology, region)
            if _of_run(d.get("key"), float(d.get("at") or 0.0), prefix, since)
        ]
    return found


def _of_run(key: str | None, at: float, prefix: str, since: float) -> bool:
    if key is None:
        return at >= since
    return key.startswith(prefix)


def _last_seq(stream: dict[str, Any] | None) -> int | None:
    if not stream:
        return None
    return int((stream.get("state") or {}).get("last_seq", 0))
