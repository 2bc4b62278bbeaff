"""Database faults: the PostgreSQL leader and nodes, replication replay.

Chaos Toolkit actions: each dispatches to the target the configuration names.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.targets.dispatch import run

__all__ = [
    "crash_db_leader",
    "kill_db_leader",
    "pause_replication_replay",
    "resume_replication_replay",
    "start_db_node",
    "stop_db_node",
    "switchover_db",
]


def kill_db_leader(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """SIGKILL the current leader's postmaster."""
    return run("kill_db_leader", configuration)


def crash_db_leader(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Crash the current leader's whole node (Patroni and PostgreSQL): a real failover."""
    return run("crash_db_leader", configuration)


def stop_db_node(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Stop the database node of `region` (a leader hands over first)."""
    return run("stop_db_node", configuration, region=region)


def start_db_node(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start the database node of `region` and wait until it runs; idempotent."""
    return run("start_db_node", configuration, region=region)


def switchover_db(
    to_region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Planned leader change to `to_region`; returns once it leads."""
    return run("switchover_db", configuration, to_region=to_region)


def pause_replication_replay(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Stop applying WAL on the replica in `region`: replication lag grows."""
    return run("pause_replication_replay", configuration, region=region)


def resume_replication_replay(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `pause_replication_replay`; idempotent."""
    return run("resume_replication_replay", configuration, region=region)
