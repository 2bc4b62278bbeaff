"""Read-only observations of the sandbox, for the probes in `probes/`."""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

import psycopg

from aftershock.config.topology import REGIONS, Topology, other_region
from aftershock.sandbox import pglogical, postgres
from aftershock.sandbox.endpoints import connect, connect_node
from aftershock.sandbox.haproxy import server_states
from aftershock.sandbox.http import get
from aftershock.sandbox.state import load_credentials, writers_of
from aftershock.targets.local.common import check_choice

HEARTBEAT = """
CREATE TABLE IF NOT EXISTS aftershock_heartbeat (
    id integer PRIMARY KEY, token text NOT NULL, at timestamptz NOT NULL
)"""
# Each measurement writes its own row: two probers sharing one (the lag recorder beside a
# hypothesis probe) overwrote each other's token, and the one overwritten read as capped lag.
BEAT = "INSERT INTO aftershock_heartbeat VALUES (%s, %s, now())"
FORGET = "DELETE FROM aftershock_heartbeat WHERE id = %s"
SLOTS = 2**31 - 1  # the id column is a PostgreSQL integer
POLL = 0.01
READY_TIMEOUT = 2.0  # seconds: the shop gives each dependency 0.5 s to answer


def replication_lag(topology: Topology, timeout: float = 5.0) -> dict[str, Any]:
    """Seconds until a heartbeat written on the leader is readable on each replica.

    The heartbeat is a row the leader commits; every replica is read
    directly until the row's new token appears, capped at `timeout` (then
    `capped` is true and the figure is a lower bound). Works wherever SQL
    works (Aurora included). `pg_stat_replication`'s replay_lag is returned
    beside it as a cross-check; it goes stale on an idle primary.
    """
    creds = load_credentials(topology)
    if writers_of(topology) == "multi-writer":
        return writers_lag(topology, timeout)
    leader = postgres.leader(topology)
    if leader is None:
        return {"max": None, "error": "no single leader answers: replication lag is undefined"}
    replicas = [r for r in REGIONS if r != leader]
    with contextlib.ExitStack() as stack:
        readers = {r: stack.enter_context(connect_node(topology, r, creds)) for r in replicas}
        with connect(topology, creds, timeout=timeout) as writer:
            # A commit waiting for a synchronous standby that is gone would hang the probe.
            writer.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
            _create_heartbeat_table(writer)
            slot, token = 1 + secrets.randbelow(SLOTS - 1), uuid.uuid4().hex
            writer.execute(BEAT, (slot, token))
            written = time.monotonic()
            reported = {
                name: lag
                for name, lag in writer.execute(
                    "SELECT application_name, EXTRACT(epoch FROM replay_lag)::float8"
                    " FROM pg_stat_replication"
                )
            }
            seen = {
                r: _wait_for_token(conn, slot, token, written, timeout)
                for r, conn in readers.items()
            }
            with contextlib.suppress(psycopg.Error):  # a row left behind harms no measurement
                writer.execute(FORGET, (slot,))
    result = {
        region: {"seconds": round(seconds, 3), "capped": capped, "replay_lag": reported.get(region)}
        for region, (seconds, capped) in seen.items()
    }
    return {
        "leader": leader,
        "replicas": result,
        "max": max((v["seconds"] for v in result.values()), default=0.0),
    }


def writers_lag(topology: Topology, timeout: float = 5.0) -> dict[str, Any]:
    """Multi-writer: seconds until a row committed in each region is readable in the other.

    Keyed by the region that receives (as a replica is for the single
    writer): `tokyo` is taiwan's writes reaching tokyo. No leader.
    """
    creds = load_credentials(topology)
    marks = {other_region(r): pglogical.mark_lag(topology, creds, r, timeout) for r in REGIONS}
    errors = [f"{m['from']} -> {m['to']}: {m['error']}" for m in marks.values() if m.get("error")]
    replicas = {
        region: {"seconds": m["seconds"] if m["seconds"] is not None else float(timeout),
                 "capped": m["capped"], "from": m["from"], "t": m.get("written_at")}
        for region, m in marks.items()
    }  # fmt: skip
    found: dict[str, Any] = {
        "leader": None,
        "writers": list(REGIONS),
        "replicas": replicas,
        "max": max(v["seconds"] for v in replicas.values()),
    }
    if errors:
        found["error"] = "; ".join(errors)
    return found


def _create_heartbeat_table(writer: psycopg.Connection[Any]) -> None:
    """Create the heartbeat table once, however many probers start at the same moment.

    Two concurrent `CREATE TABLE IF NOT EXISTS` on a fresh database do not
    skip: one fails (unique violation on pg_type, or "type already exists").
    The lag recorder and a hypothesis probe did exactly that; an advisory
    lock makes them take turns.
    """
    writer.execute("SELECT pg_advisory_lock(hashtext('aftershock_heartbeat'))")
    try:
        writer.execute(HEARTBEAT)
    finally:
        writer.execute("SELECT pg_advisory_unlock(hashtext('aftershock_heartbeat'))")


def _wait_for_token(
    conn: psycopg.Connection[Any], slot: int, token: str, written: float, timeout: float
) -> tuple[float, bool]:
    while True:
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            row = conn.execute(
                "SELECT token FROM aftershock_heartbeat WHERE id = %s", (slot,)
            ).fetchone()
            if row and row[0] == token:
                return time.monotonic() - written, False
        elapsed = time.monotonic() - written
        if elapsed >= timeout:
            return elapsed, True
        time.sleep(POLL)


def region_ready(topology: Topology, region: str) -> dict[str, Any]:
    """Whether `region` serves: its shop's readiness answers 200 and the edge has it UP.

    Both are read directly (the shop's own address, HAProxy's runtime API),
    so a region the edge still sends traffic to but whose shop is unready,
    or the reverse, is not ready.
    """
    check_choice(region, REGIONS)
    answer = get(f"{topology.shop_url(region)}/health/readiness", timeout=READY_TIMEOUT)
    edge = server_states(topology).get((f"shop-{region}", region), "unreachable")
    shop = {"status": answer[0], "body": answer[1]} if answer else {"status": None}
    return {
        "region": region,
        "ready": answer is not None and answer[0] == 200 and edge == "UP",
        "shop": shop,
        "edge": edge,
    }


def primaries(topology: Topology) -> dict[str, Any]:
    """Which nodes accept writes right now, asked of each node directly.

    Two at once is split brain, whatever Patroni's leader key says; none
    is a platform that lost its writer. A node accepts writes when it is
    out of recovery and a new session on it is not read-only (what libpq's
    `target_session_attrs=read-write` asks too): a primary switched to
    read-only takes no order. A node that cannot be reached is listed as
    unreachable, not counted.
    """
    creds = load_credentials(topology)
    found: list[str] = []
    read_only: list[str] = []
    unreachable: dict[str, str] = {}
    for region in REGIONS:
        try:
            with connect_node(topology, region, creds) as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"
                ).fetchone()
        except psycopg.Error as exc:
            unreachable[region] = str(exc).strip().splitlines()[0]
            continue
        if row is not None and row[0] is False:
            (found if row[1] == "off" else read_only).append(region)
    return {"primaries": found, "count": len(found), "read_only_primaries": read_only,
            "unreachable": unreachable}  # fmt: skip


def leader_changed(topology: Topology, old_leader: str, since: float) -> dict[str, Any]:
    """Whether a node other than `old_leader` takes writes now, and when it was promoted.

    The writer is asked of each node directly (`primaries`); the promotion
    time is the newest entry of the new leader's timeline history, as
    Patroni's `/history` reports it (the switch it wrote when it promoted).
    """
    found = primaries(topology)
    writers = found["primaries"]
    new = writers[0] if len(writers) == 1 else None
    promoted_at, timeline = None, None
    if new is not None and new != old_leader:
        answer = get(f"{topology.patroni_url(new)}/history")
        entries = answer[1] if answer and isinstance(answer[1], list) else []
        if entries:
            timeline = entries[-1][0]
            promoted_at = datetime.fromisoformat(str(entries[-1][3])).timestamp()
    changed = new is not None and new != old_leader
    if changed:
        after = "at an unknown time"
        if promoted_at is not None:
            after = f"{promoted_at - since:.1f} s after the fault"
        reason = f"{new} leads, promoted {after} (from timeline {timeline})"
    elif not writers:
        reason = "no node takes writes"
    elif len(writers) > 1:
        reason = f"{len(writers)} nodes take writes: {', '.join(writers)}"
    else:
        reason = f"{old_leader} still leads: no failover"
    if found["unreachable"] and not changed:
        where = ", ".join(f"{r} ({why})" for r, why in found["unreachable"].items())
        reason += f"; no answer from {where}"
    return {
        "valid": changed and promoted_at is not None and promoted_at >= since,
        "reason": reason,
        "old_leader": old_leader,
        "leader": new,
        "primaries": writers,
        "unreachable": found["unreachable"],
        "promoted_at": promoted_at,
        "promotion_s": None if promoted_at is None else round(promoted_at - since, 3),
        "timeline": timeline,
    }
