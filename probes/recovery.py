"""Recovery probes: how long the platform took to serve again after a fault.

Chaos Toolkit probes, read-only: the fault's start comes from the sandbox's
fault journal, the requests from the load run's timeline.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers
from aftershock.config.target import sandbox
from aftershock.load import history
from aftershock.load.runner import find_run
from aftershock.targets.dispatch import fault_ledger

__all__ = ["rto_seconds"]


def rto_seconds(
    fault: str = "",
    target_s: float = 300.0,
    window_s: float = 1.0,
    threshold: float = 0.95,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Seconds from the newest `fault` injection (any fault when empty) until traffic recovered.

    Recovery is the first `window_s`-long window whose success ratio
    stays at or above `threshold` (see `checkers.recovery_time`). Judge
    `$.valid` (true: recovered within `target_s`; "unknown": the evidence
    cannot place it, with the reason); `seconds` is the figure.
    """
    topology = sandbox(configuration)
    began = fault_ledger(configuration).newest_injection(fault)
    run = find_run(topology, run_dir)
    timeline = history.read(run.path / history.TIMELINE_FILE).records
    result = checkers.checked(
        "recovery_time",
        checkers.recovery_time,
        timeline,
        began.at,
        window=float(window_s),
        threshold=float(threshold),
        target=float(target_s),
    )
    return {
        **result.as_dict(),
        "target_s": float(target_s),
        "fault": began.fault,
        "fault_start": began.at,
        "run_dir": str(run.path),
    }
