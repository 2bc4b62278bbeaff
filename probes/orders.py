"""Order probes: were any acknowledged orders lost, duplicated or invented.

Chaos Toolkit probe, read-only: the final read of a load run, once it ended.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers, phases
from aftershock.config.budgets import budgets
from aftershock.config.target import sandbox, target_name
from aftershock.load import history
from aftershock.load.runner import find_run
from aftershock.load.runs import Run
from aftershock.targets.dispatch import fault_ledger, local_sandbox

__all__ = ["integrity"]


def integrity(
    run_dir: str = "",
    converge_timeout: float = 30.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Jepsen's set check of the newest load run (or `run_dir`) against the orders table.

    Waits up to `converge_timeout` s for every replica to hold what the
    leader holds, then reads the leader. Judge `$.valid` (true, false or
    "unknown"); `lost`, `duplicated`, `unexpected` and `failed_but_present`
    name the idempotency keys. Refuses while the load still runs.
    """
    target = target_name(configuration)
    run = find_run(sandbox(configuration), run_dir)
    if target != "local":  # Aurora over SQL (database.sql of the target file)
        from aftershock.targets.drivers import observe

        found = observe(
            target, "integrity", configuration, run=run, converge_timeout=float(converge_timeout)
        )
    else:
        topology = local_sandbox("integrity", configuration)
        from aftershock.targets.local.final_reads import order_integrity

        found = order_integrity(topology, run, float(converge_timeout)).as_dict()
    return {**found, "run_dir": str(run.path), "rpo": _rpo(found, run, configuration)}


def _rpo(found: dict[str, Any], run: Run, configuration: Configuration) -> dict[str, Any]:
    """The recovery point of the lost orders, against the promise (judge `$.rpo.valid`)."""
    target_s = budgets(configuration).promise_rpo_s
    if found.get("valid") == checkers.UNKNOWN:
        return {"seconds": None, "target_s": target_s, "valid": checkers.UNKNOWN,
                "reason": "order loss could not be judged"}  # fmt: skip
    started = (configuration or {}).get("aftershock_experiment_started") or 0.0
    faults_at = [e.at for e, _ in fault_ledger(configuration).faults_since(float(started))]
    records = history.read(run.path / history.HISTORY_FILE).records
    return phases.rpo(records, list(found.get("lost") or []), faults_at, target_s)
