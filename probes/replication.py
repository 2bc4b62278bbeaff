"""Replication probes: how far the replicas are behind the leader.

Chaos Toolkit probes, read-only (the heartbeat row they write is the
measurement's own, never the application's data).
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers, lag
from aftershock.config import fault_paths
from aftershock.config.target import sandbox, target_name
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.runner import find_run
from aftershock.load.runs import LAG_FILE
from aftershock.targets.dispatch import fault_ledger, local_sandbox

__all__ = ["lag_seconds", "lag_under_load", "leader_changed", "primaries"]


def lag_seconds(
    timeout: float = 5.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Seconds until a heartbeat committed on the leader is readable on every replica.

    Returns `max` (judge it with a tolerance such as `[0, 1]` on
    `$.max`), per-replica seconds, whether each was capped at `timeout`,
    and pg_stat_replication's replay_lag as a cross-check. On aws: the
    newest CloudWatch `AuroraGlobalDBReplicationLag` of each secondary, in
    seconds (`timeout` unused; `max` is None when there is no datapoint).
    """
    target = target_name(configuration)
    if target != "local":  # aws: CloudWatch AuroraGlobalDBReplicationLag, ms -> s
        from aftershock.targets.drivers import observe

        return observe(target, "lag_seconds", configuration, timeout=float(timeout))
    topology = local_sandbox("lag_seconds", configuration)
    from aftershock.targets.local.observe import replication_lag

    found = replication_lag(topology, float(timeout))
    if found.get("max") is None and found.get("error"):
        # No leader to write the heartbeat on: the lag was not measured, not zero.
        raise EvidenceMissing(f"could not look: {found['error']}")
    return found


def primaries(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """The nodes that accept writes now, each asked directly: judge `count` with `[0, 1]`.

    Two is split brain. Run it in the method while a partition is on and
    judge that run with a verdict (`"of": <its name>`).
    """
    target = target_name(configuration)
    if target != "local":  # aws: the global database's writers, and clusters detached from it
        from aftershock.targets.drivers import observe as remote

        return remote(target, "primaries", configuration)
    topology = local_sandbox("primaries", configuration)
    from aftershock.targets.local.observe import primaries as observe

    found = observe(topology)
    if found["unreachable"]:
        # A node we cannot ask may be taking writes: the count is a floor, not a verdict.
        where = "; ".join(f"{r}: {why}" for r, why in found["unreachable"].items())
        raise EvidenceMissing(f"could not look: no answer from {where}")
    return found


def leader_changed(
    fault: str = "crash_db_leader", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Did another node take over from the leader the newest `fault` took down?

    Run it in the method while the fault holds and judge `$.valid` with a
    verdict (`"of"`): true when a node other than the one the fault
    recorded takes writes, promoted after the fault (`promotion_s`, from
    the database's own timeline history); `leader` names it.
    """
    started = float((configuration or {}).get("aftershock_experiment_started") or 0.0)
    injected = fault_ledger(configuration).newest_injection(fault, started)
    old = str(injected.params.get("region", ""))
    target = target_name(configuration)
    if target != "local":  # aws: the writer instance of the writer cluster against the recorded one
        from aftershock.targets.drivers import observe

        return observe(
            target, "leader_changed", configuration, fault=fault, old_leader=old, since=injected.at
        )
    topology = local_sandbox("leader_changed", configuration)
    from aftershock.targets.local.observe import leader_changed as observe_local

    return observe_local(topology, old, injected.at)


def lag_under_load(
    settle_s: float = 10.0,
    limit_s: float = 1.0,
    run_dir: str = "",
    source: str = "database",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """A lag promise judged on every sample the lag recorder took under load (judge `$.valid`).

    `source` is the replication path: `database` (the replicas, under
    `limit_s`), `cache` (the global catalog cache's replica and stale reads
    through both shops, under `limit_s`) or `mirror` (the event mirrors,
    under the record's mirror-lag alarm). Only the faults that touch that
    path are left out (`aftershock.config.fault_paths`), each from its
    injection to `settle_s` after its undo, on the side the figure looks
    at. A sample that could not measure or hit its cap counts against the
    promise. `p99_s`, `max_s`, `judged` and `unmeasured` are the figures.
    """
    return _judge_lag(source, float(settle_s), float(limit_s), run_dir, configuration)


def _judge_lag(
    source: str, settle_s: float, limit_s: float, run_dir: str, configuration: Configuration
) -> dict[str, Any]:
    """`lag_under_load` for one source, with its own checker name, faults and direction."""
    settle_s = float(settle_s)
    limit_s = float(limit_s)
    if source not in fault_paths.PATHS:
        raise ValueError(f"source must be one of {', '.join(fault_paths.PATHS)}, not {source!r}")
    run = find_run(sandbox(configuration), run_dir)
    samples = lag.samples_of(history.read(run.path / LAG_FILE).records, source)
    times = [float(r["t"]) for r in history.read(run.path / history.TIMELINE_FILE).records]
    span = (min(times), max(times)) if times else None
    started = float((configuration or {}).get("aftershock_experiment_started") or 0.0)
    faults = [
        (e.at, healed)
        for e, healed in fault_ledger(configuration).faults_since(started)
        if fault_paths.touches(e.fault, source)
    ]
    name = {"database": "lag_under_load"}.get(source, f"{source}_lag_under_load")
    looks = lag.BACKWARD if source == fault_paths.MIRROR else lag.FORWARD
    result = checkers.checked(
        name, lag.lag_under_load, samples, span, faults, settle_s, limit_s, name, looks
    )
    return {**result.as_dict(), "source": source, "run_dir": str(run.path)}
