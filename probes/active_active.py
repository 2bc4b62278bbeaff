"""ADR-037's promises, judged from each region's own database: both topologies.

Chaos Toolkit probes, read-only; each returns a checker's verdict (judge
`$.valid`). Run them after `stop_load`: they read each region's final
state and the load's records. On the single-writer topology the regions
are the leader and its replica, read directly; on multi-writer they are
the two primaries.
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers, convergence, cross_region, final_read, regional_judge
from aftershock.config.budgets import budgets
from aftershock.config.target import sandbox, target_name
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.runner import find_run
from aftershock.load.runs import LAG_FILE, Run
from aftershock.targets.dispatch import fault_ledger, local_sandbox

__all__ = [
    "available_during",
    "converged",
    "lost_updates",
    "orders_across_regions",
    "replication_held_back",
    "stock_conserved",
]

POLL_S = 1.0
STUCK_FILE = "replication_stuck.txt"
"""Written in the run directory when a final read gave up waiting for replication."""


def converged(
    fault: str = "partition_regions",
    wait_s: float = 0.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Both regions hold the same rows, within the promise of the heal of `fault`.

    The time is the first lag sample after the heal that crossed every way
    (the lag recorder's, else this probe's own, taken until `wait_s` after
    the heal; 0: the promise and 30 s more, long enough to see a slow heal
    break it).
    Every row that still differs once replication caught up is named.
    """
    wait_s = float(wait_s)
    run = _finished_run(configuration, run_dir)
    heal_at = _healed_at(configuration, fault)
    wait_s = float(wait_s) or budgets(configuration).promise_convergence_s + 30.0
    if _remote(configuration):
        return _observe("converged", configuration, run=run, heal_at=heal_at, wait_s=wait_s)
    topology = local_sandbox("converged", configuration)
    target_s = budgets(configuration).promise_convergence_s
    seconds = _caught_up(topology, run, heal_at, float(wait_s))
    result = regional_judge.rows_converged(_each(topology), seconds, target_s)
    return {**result.as_dict(), "heal_at": heal_at, "wait_s": float(wait_s)}


def stock_conserved(
    run_dir: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Per product and region, stocked = left + sold (Jepsen's bank check).

    Left is the design's own accounting (the stock row, or the sum of the
    allotments); sold is every order either region holds plus every
    acknowledged order neither holds. Names lost decrements and oversold
    units by product.
    """
    run = _finished_run(configuration, run_dir)
    if _remote(configuration):
        return _observe("stock_conserved", configuration, run=run)
    topology = _settled("stock_conserved", configuration, run)
    from aftershock.targets.local.final_reads import inventory_policy

    records = history.read(run.path / history.HISTORY_FILE).records
    inventory = inventory_policy(topology)
    result = regional_judge.stock_conserved(_each(topology), inventory, records)
    return {**result.as_dict(), "inventory": inventory}


def orders_across_regions(
    run_dir: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Every acknowledged order present once in every region, and no key accepted twice.

    Jepsen's set check against each region's orders table, and the keys
    acknowledged with two different orders (a checkout and its resubmission
    through the other region). Valid only when every part is.
    """
    run = _finished_run(configuration, run_dir)
    if _remote(configuration):
        return _observe("orders_across_regions", configuration, run=run)
    topology = _settled("orders_across_regions", configuration, run)
    found = history.read(run.path / history.HISTORY_FILE)
    resubmits = history.read(run.path / history.RESUBMITS_FILE).records
    return regional_judge.orders_across_regions(_each(topology), found, resubmits, run.key_prefix)


def lost_updates(
    run_dir: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Acknowledged profile writes that neither survived nor were overwritten later in real time."""
    run = _finished_run(configuration, run_dir)
    if _remote(configuration):
        return _observe("lost_updates", configuration, run=run)
    topology = _settled("lost_updates", configuration, run)
    records = history.read(run.path / history.PROFILES_FILE).records
    return regional_judge.lost_updates(_each(topology), records, run.key_prefix).as_dict()


def replication_held_back(
    fault: str = "partition_regions",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Run while the cut holds: no region's newest order since the cut reached the other.

    The evidence that the fault took effect: without it, "no downtime" would
    pass for a partition that partitioned nothing. Judge `$.valid`.
    """
    started = float((configuration or {}).get("aftershock_experiment_started") or 0.0)
    since = fault_ledger(configuration).newest_injection(fault, since=started).at
    if _remote(configuration):
        return _observe("replication_held_back", configuration, since=since)
    topology = local_sandbox("replication_held_back", configuration)
    return {**regional_judge.replication_held_back(_each(topology), since).as_dict(),
            "fault": fault}  # fmt: skip


def available_during(
    fault: str = "partition_regions",
    max_error_ratio: float = 0.01,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Each region's shoppers' checkouts while `fault` held: ADR-037's "no downtime".

    From the injection of `fault` to its heal; a region whose failed share
    passes `max_error_ratio` had downtime.
    """
    run = find_run(sandbox(configuration), run_dir)
    started = float((configuration or {}).get("aftershock_experiment_started") or 0.0)
    book = fault_ledger(configuration)
    book.newest_injection(fault, since=started)  # says so when the fault was never injected
    now = time.time()
    windows = [
        (event.at, now if healed is None else healed)
        for event, healed in book.faults_since(started)
        if event.fault == fault
    ]
    timeline = history.read(run.path / history.TIMELINE_FILE).records
    result = checkers.checked(
        "availability_by_region",
        cross_region.availability_by_region,
        timeline,
        windows,
        float(max_error_ratio),
    )
    return {**result.as_dict(), "fault": fault}


def _remote(configuration: Configuration) -> bool:
    return target_name(configuration) != "local"


def _observe(probe: str, configuration: Configuration, **params: Any) -> dict[str, Any]:
    """The probe on a remote target: ADR-037's two writers, as its target file names them."""
    from aftershock.targets.drivers import observe

    return observe(target_name(configuration), probe, configuration, **params)


def _each(topology: Any) -> regional_judge.Each:
    from aftershock.targets.local.final_reads import each_region

    return lambda read: each_region(topology, read)


def _finished_run(configuration: Configuration, run_dir: str) -> Run:
    run = find_run(sandbox(configuration), run_dir)
    final_read.require_finished(run)
    return run


def _caught_up(topology: Any, run: Run, since: float, wait_s: float) -> float | None:
    """Seconds from `since` until a write made after it crossed every way; None if none did
    within `wait_s` of `since`. The lag recorder's samples first, then this probe's own."""
    from aftershock.targets.local.observe import replication_lag

    seconds = convergence.time_to_converge(history.read(run.path / LAG_FILE).records, since)
    while seconds is None:  # at least one look of its own, even past the deadline
        at = time.time()
        found = replication_lag(topology, 2.0)
        seconds = convergence.time_to_converge([{**found, "t": at}], since)
        if seconds is not None or time.time() >= since + wait_s:
            return seconds
        time.sleep(POLL_S)
    return seconds


def _settled(probe: str, configuration: Configuration, run: Run) -> Any:
    """The sandbox `probe` reads, once replication has carried everything written so far."""
    topology = local_sandbox(probe, configuration)
    _settle(topology, run, configuration)
    return topology


def _settle(topology: Any, run: Run, configuration: Configuration) -> None:
    """Wait until replication holds everything written before now, or say it could not.

    A final read taken while the regions still exchange the partition's
    backlog would call orders lost that are only late; the promise gives
    replication 5 minutes, so the read waits that long (and a little more).
    """
    stuck = run.path / STUCK_FILE
    if stuck.exists():  # an earlier probe of this run already waited the whole budget
        raise EvidenceMissing(stuck.read_text().strip())
    now = time.time()
    wait_s = budgets(configuration).promise_convergence_s + 30.0
    if _caught_up(topology, run, now, wait_s) is None:
        why = f"replication did not catch up within {wait_s:g} s: the final read would be premature"
        stuck.write_text(why + "\n")
        raise EvidenceMissing(why)


def _healed_at(configuration: Configuration, fault: str) -> float:
    started = float((configuration or {}).get("aftershock_experiment_started") or 0.0)
    book = fault_ledger(configuration)
    healed = book.healed(book.newest_injection(fault, since=started))
    if healed is None:
        raise EvidenceMissing(f"{fault} was never healed: convergence cannot be timed")
    return healed.at
