"""Database faults on the sandbox: the Patroni/PostgreSQL nodes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import psycopg

from aftershock.config.topology import REGIONS, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import postgres
from aftershock.sandbox.endpoints import connect_node
from aftershock.sandbox.processes import kill_pids, stop
from aftershock.sandbox.state import load_credentials, registry
from aftershock.targets.local.common import check_choice, forget, record, start_daemon

LEADER_CHANGE_TIMEOUT = 60.0


def _postmaster_pid(topology: Topology, region: str) -> int | None:
    pidfile = postgres.patroni_home(topology, region) / "pgdata" / "postmaster.pid"
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _current_leader(topology: Topology) -> str:
    leader = postgres.leader(topology)
    if leader is None:
        raise SandboxError("there is no single PostgreSQL leader right now; check `sandbox status`")
    return leader


def kill_db_leader(topology: Topology) -> dict[str, Any]:
    """SIGKILL the leader's postmaster; Patroni restarts it or fails over."""
    leader = _current_leader(topology)
    pid = _postmaster_pid(topology, leader)
    if pid is None:
        raise SandboxError(f"no postmaster.pid for the {leader} leader")
    entry = record(topology, "kill_db_leader", {"region": leader}, f"the {leader} leader is killed")
    os.kill(pid, signal.SIGKILL)
    return {"fault": "kill_db_leader", "id": entry.id, "region": leader, "killed_pid": pid}


def crash_db_leader(topology: Topology) -> dict[str, Any]:
    """SIGKILL the leader's whole node, Patroni and PostgreSQL, as a lost instance would be.

    Unlike `kill_db_leader` (a postmaster crash Patroni restarts in place),
    nothing is left on the node to restart it: the leader key expires and
    the synchronous standby is promoted. Undone by `start_db_node`.
    """
    leader = _current_leader(topology)
    daemon = registry(topology).load().get(f"patroni-{leader}")
    if daemon is None:
        raise SandboxError(f"no registered Patroni for the {leader} leader")
    entry = record(topology, "crash_db_leader", {"region": leader},
                   f"the {leader} leader node is crashed")  # fmt: skip
    postmaster = _postmaster_pid(topology, leader)
    kill_pids([daemon.pid, *([postmaster] if postmaster else [])])
    return {"fault": "crash_db_leader", "id": entry.id, "region": leader,
            "killed_pids": [daemon.pid, postmaster]}  # fmt: skip


def stop_db_node(topology: Topology, region: str) -> dict[str, Any]:
    """Stop the region's Patroni (it stops PostgreSQL; a leader hands over first)."""
    check_choice(region, REGIONS)
    entry = record(topology, "stop_db_node", {"region": region}, f"the {region} node is stopped")
    daemon = registry(topology).load()[f"patroni-{region}"]
    forced = stop([daemon], timeout=15)
    postmaster = _postmaster_pid(topology, region)
    if forced and postmaster:  # Patroni was killed: its PostgreSQL runs on, headless
        kill_pids([postmaster])
    return {"fault": "stop_db_node", "id": entry.id, "region": region, "forced": bool(forced)}


def start_db_node(topology: Topology, region: str) -> dict[str, Any]:
    """Start the region's Patroni if it is not running; wait until PostgreSQL runs. Idempotent."""
    check_choice(region, REGIONS)
    running = lambda: postgres.role_check(topology, region, "health")  # noqa: E731
    pid = start_daemon(topology, f"patroni-{region}", running)
    forget(topology, "stop_db_node", {"region": region})
    forget(topology, "kill_db_leader", {"region": region})
    forget(topology, "crash_db_leader", {"region": region})
    return {"fault": "start_db_node", "region": region, "pid": pid}


def switchover_db(topology: Topology, to_region: str) -> dict[str, Any]:
    """Planned leader change to `to_region` through Patroni's REST API; waits for it."""
    check_choice(to_region, REGIONS)
    leader = _current_leader(topology)
    if leader == to_region:
        raise SandboxError(f"{to_region} already leads; nothing to switch over")
    entry = record(topology, "switchover_db", {"from_region": leader, "to_region": to_region},
                   f"a switchover to {to_region} is recorded")  # fmt: skip
    _change_leader(topology, leader, to_region)
    return {"fault": "switchover_db", "id": entry.id, "from": leader, "to": to_region}


def switchback_db(topology: Topology, from_region: str, to_region: str) -> dict[str, Any]:
    """Undo `switchover_db`: lead from `from_region` again; idempotent."""
    leader = postgres.leader(topology)
    if leader not in (None, from_region):
        _change_leader(topology, leader, from_region)
    forget(topology, "switchover_db", {"from_region": from_region, "to_region": to_region})
    return {"fault": "switchback_db", "leader": from_region}


def _change_leader(topology: Topology, leader: str, candidate: str) -> None:
    creds = load_credentials(topology)
    deadline = time.monotonic() + LEADER_CHANGE_TIMEOUT
    # In synchronous mode only the sync standby may take over: wait for it.
    wanted = "sync" if postgres.synchronous_mode(topology) else "replica"
    while not postgres.role_check(topology, candidate, wanted):
        if time.monotonic() > deadline:
            raise SandboxError(
                f"{candidate} is not a healthy {wanted} replica; cannot switch to it"
            )
        time.sleep(0.2)
    status, message = postgres.request_leader_change(
        topology, creds, "switchover", candidate=candidate, leader=leader
    )
    if status != 200:
        raise SandboxError(f"Patroni refused the switchover to {candidate}: {message.strip()}")
    while postgres.leader(topology) != candidate:
        if time.monotonic() > deadline:
            raise SandboxError(
                f"{candidate} did not become leader in {LEADER_CHANGE_TIMEOUT:.0f} s"
            )
        time.sleep(0.2)


def _node(topology: Topology, region: str) -> psycopg.Connection[Any]:
    return connect_node(topology, region, load_credentials(topology))


def pause_replication_replay(topology: Topology, region: str) -> dict[str, Any]:
    """Stop applying WAL on the region's replica: it keeps receiving, lag grows.

    Patroni 3 resumes a paused replay on PostgreSQL 14+ at every loop, so the
    cluster goes into maintenance mode first; while the fault lasts Patroni
    does not fail over either (say so in any experiment that combines them).
    """
    check_choice(region, REGIONS)
    with _node(topology, region) as conn:
        if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            raise SandboxError(f"{region} is the leader: replay can only be paused on a replica")
    entry = record(topology, "pause_replication_replay", {"region": region},
                   f"replay on {region} is paused")  # fmt: skip
    creds = load_credentials(topology)
    postgres.set_maintenance(topology, creds, paused=True)
    _wait(lambda: postgres.in_maintenance(topology, region), "maintenance mode")
    with _node(topology, region) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    return {"fault": "pause_replication_replay", "id": entry.id, "region": region,
            "patroni_maintenance": True}  # fmt: skip


def resume_replication_replay(topology: Topology, region: str) -> dict[str, Any]:
    """Undo `pause_replication_replay`; idempotent (also on a node that is now a leader)."""
    check_choice(region, REGIONS)
    resumed = False
    with _node(topology, region) as conn:
        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            conn.execute("SELECT pg_wal_replay_resume()")
            resumed = True
    postgres.set_maintenance(topology, load_credentials(topology), paused=False)
    _wait(
        lambda: not any(postgres.in_maintenance(topology, r) for r in REGIONS),
        "the end of maintenance mode on every node",
    )
    forget(topology, "pause_replication_replay", {"region": region})
    return {"fault": "resume_replication_replay", "region": region, "resumed": resumed}


def _wait(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SandboxError(f"Patroni did not reach {what} within {timeout:.0f} s")
        time.sleep(0.1)
