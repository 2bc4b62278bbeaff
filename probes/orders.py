"""Order probes: were any acknowledged orders lost, duplicated or invented.

Chaos Toolkit probe, read-only: the final read of a load run, once it ended.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.config.target import sandbox, target_name
from aftershock.load.runner import find_run
from aftershock.targets.dispatch import local_sandbox

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
    if target != "local":  # Aurora over SQL (database.sql of the target file)
        from aftershock.targets.drivers import observe

        return observe(
            target,
            "integrity",
            configuration,
            run=find_run(sandbox(configuration), run_dir),
            converge_timeout=float(converge_timeout),
        )
    topology = local_sandbox("integrity", configuration)
    from aftershock.targets.local.final_reads import order_integrity

    run = find_run(topology, run_dir)
    result = order_integrity(topology, run, float(converge_timeout))
    return {**result.as_dict(), "run_dir": str(run.path)}
