"""Recovery probes: how long the platform took to serve again after a fault.

Chaos Toolkit probes, read-only: the fault's start (and its undo) come from
the target's fault journal, the requests from the load run's timeline.
`hold_until_recovered` is the method step that keeps a fault on until the
platform serves again (or a budget is spent); `failover` is the verdict
that judges what happened while it held, apart from what the undo brought.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers, phases
from aftershock.config.budgets import budgets
from aftershock.config.target import sandbox
from aftershock.load import history
from aftershock.load.runner import find_run
from aftershock.targets.dispatch import fault_ledger

__all__ = ["failover", "hold_until_recovered", "rto_seconds"]

log = logging.getLogger("chaostoolkit")
POLL_S = 0.5  # seconds between looks at the live timeline
PROGRESS_S = 5.0  # seconds between progress lines while holding


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


def failover(
    fault: str = "",
    claim: str = "region",
    window_s: float = 1.0,
    threshold: float = 0.95,
    sustain_s: float = phases.SUSTAIN_S,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Recovery of the newest `fault`, by phase, against the promise and the design claim.

    Detection (fault to the first failed request), failover (fault to
    sustained recovery while the fault still held) and failback (what the
    undo cost) are reported apart. Judge `$.promise.valid` (failed over
    within the promised RTO, 300 s) and `$.claim.valid` (within the design
    claim for a `claim` failure: `region` or `database`, 30 s); a platform
    that served again only after the undo fails both, saying so.
    """
    book = fault_ledger(configuration)
    began = book.newest_injection(fault, _experiment_start(configuration))
    undone = book.healed(began)
    # The fault held until its undo began: what the undo costs is failback.
    undo_at = book.undo_began(began)
    run = find_run(sandbox(configuration), run_dir)
    timeline = history.read(run.path / history.TIMELINE_FILE).records
    undo_name = (
        f"the undo of {began.fault} {_params(began.params)}".rstrip() if undone else "the undo"
    )
    result = checkers.checked(
        "failover",
        phases.failover,
        timeline,
        began.at,
        undo_at,
        undo_name,
        window=float(window_s),
        threshold=float(threshold),
        sustain_s=float(sustain_s),
    )
    limits = budgets(configuration)
    seconds = result.details.get("seconds") if result.valid is True else None
    low = result.details.get("at_least") if result.valid is True else None

    def judged(target_s: float) -> dict[str, Any]:
        if result.valid is not True:
            return {"target_s": target_s, "valid": result.valid, "reason": result.reason}
        valid = phases.within(seconds, low, target_s)
        verb = {True: "within", False: "beyond"}.get(valid, "perhaps within")  # type: ignore[arg-type]
        return {"target_s": target_s, "valid": valid, "reason": f"{verb} {target_s:g} s"}

    promise = judged(limits.promise_rto_s)
    reason = result.reason
    if result.valid is True:  # one line for every verdict: each names its own target
        reason += f"; the promise: {promise['reason']}"
    claimed: dict[str, Any] = {"kind": None, "valid": None, "reason": "no design claim named"}
    if claim:
        claimed = {"kind": claim, **judged(limits.claim_s(claim))}
        if result.valid is True:
            reason += f"; the {claim} design claim: {claimed['reason']}"
    return {
        **result.as_dict(),
        "reason": reason,
        "fault": began.fault,
        "target_s": limits.promise_rto_s,
        "promise": promise,
        "claim": claimed,
        "run_dir": str(run.path),
    }


def hold_until_recovered(
    fault: str = "",
    budget_s: float = 90.0,
    min_s: float = 5.0,
    sustain_s: float = phases.SUSTAIN_S,
    window_s: float = 1.0,
    threshold: float = 0.95,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Keep the newest `fault` on until traffic recovered for `sustain_s`, or `budget_s` passed.

    A method step between a fault and its undo, in place of a fixed pause:
    the undo then comes after the platform failed over, never before, so a
    recovery the undo brought cannot pass for a failover. It holds at least
    `min_s` (a fault clients have not noticed yet is no recovery) and logs
    its progress every 5 s. Returns whether it recovered, and when.
    """
    budget_s = float(budget_s)
    min_s = float(min_s)
    sustain_s = float(sustain_s)
    window_s = float(window_s)
    threshold = float(threshold)
    book = fault_ledger(configuration)
    began = book.newest_injection(fault)
    run = find_run(sandbox(configuration), run_dir)
    path = run.path / history.TIMELINE_FILE
    deadline = began.at + budget_s
    next_line = time.time() + PROGRESS_S
    while True:
        now = time.time()
        timeline = history.read(path).records
        result = phases.failover(
            timeline, began.at, None, window=window_s, threshold=threshold, sustain_s=sustain_s
        )
        held = now - began.at
        if result.valid is True and held >= min_s:
            log.info(
                "hold: %s recovered after %.1f s of fault (%s)", began.fault, held, result.reason
            )
            return {**result.as_dict(), "recovered": True, "held_s": round(held, 1)}
        if now >= deadline:
            log.warning("hold: %s not recovered within the %g s budget", began.fault, budget_s)
            why = f"not recovered within {budget_s:g} s: {result.reason}"
            return {**result.as_dict(), "recovered": False, "held_s": round(held, 1),
                    "reason": why}  # fmt: skip
        if now >= next_line:
            log.info("hold: %s on for %.0f s, %s", began.fault, held, result.reason)
            next_line = now + PROGRESS_S
        time.sleep(POLL_S)


def _params(params: dict[str, Any]) -> str:
    return " ".join(str(v) for v in params.values())


def _experiment_start(configuration: Configuration) -> float:
    """When the experiment began, as the verdicts control passes it (0: not known)."""
    return float((configuration or {}).get("aftershock_experiment_started") or 0.0)
