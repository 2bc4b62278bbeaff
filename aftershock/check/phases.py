"""Recovery by phase: detection, failover while the fault holds, failback after the undo.

A platform that fails over serves again while the fault is still on. One
that does not serves again only once the experiment undid the fault, and a
single "time to recovery" cannot tell the two apart. These pure functions
split the timeline at the fault's injection and its undo and judge the
failover on the stretch in between only.
"""

from __future__ import annotations

from typing import Any

from aftershock.check.checkers import UNKNOWN, Result, recovery_time
from aftershock.load import history
from aftershock.load.timeline import is_error

SUSTAIN_S = 3.0  # seconds of good traffic before the undo that make a recovery a failover


def failover(
    timeline: list[dict[str, Any]],
    fault_start: float,
    undo_at: float | None,
    undo_name: str = "the undo",
    window: float = 1.0,
    threshold: float = 0.95,
    min_requests: int = 5,
    sustain_s: float = SUSTAIN_S,
) -> Result:
    """Did traffic recover while the fault held, and how long did each phase take?

    `details` holds `detection_s` (fault to the first failed request; None
    when no client saw the fault), `seconds` (fault to sustained recovery
    before the undo, with `at_least`/`at_most`), `held_s` (fault to undo)
    and `failback` (what the undo cost: requests, errors, recovery after it).
    Valid when traffic recovered at least `sustain_s` before the undo (or
    never failed); false when it recovered only after the undo, or not at
    all; unknown when there is no traffic to judge.
    """
    name = "failover"
    end = undo_at if undo_at is not None else float("inf")
    during = [r for r in timeline if fault_start <= float(r["t"]) < end]
    after = [r for r in timeline if undo_at is not None and float(r["t"]) >= undo_at]
    details: dict[str, Any] = {
        "fault_start": fault_start,
        "undo_at": undo_at,
        "undo": undo_name,
        "held_s": None if undo_at is None else round(undo_at - fault_start, 3),
        "detection_s": _detection(during, fault_start),
        "requests_during": len(during),
        "failback": failback(after, undo_at, window, threshold, min_requests),
    }
    if not during:
        return Result(name, UNKNOWN, details, "no request while the fault held: nothing to judge")
    held = recovery_time(
        during, fault_start, window=window, threshold=threshold, min_requests=min_requests
    )
    kept = ("seconds", "at_least", "at_most", "bad_windows")
    details |= {k: held.details[k] for k in kept if k in held.details}
    if held.details.get("bad_windows") == 0:
        return Result(name, True, details | {"seconds": 0.0}, "no client saw the fault")
    # Recovered: a good window after the last bad one. Sustained: it stayed
    # good for `sustain_s` before the undo (or before the traffic ends).
    stretch_end = undo_at if undo_at is not None else max(float(r["t"]) for r in during)
    recovered_at = held.details.get("at_most")
    if recovered_at is not None and stretch_end - fault_start - recovered_at >= sustain_s:
        return Result(name, True, details, f"failed over: {held.reason} while the fault held")
    if details["failback"]["recovered"]:
        why = f"did not fail over: recovered only after {undo_name}"
    elif undo_at is None:
        why = "did not recover while the fault held"
    else:
        why = f"did not fail over, and did not recover after {undo_name} either"
    return Result(name, False, details, why)


def _detection(during: list[dict[str, Any]], fault_start: float) -> float | None:
    failed = [float(r["t"]) for r in during if is_error(r)]
    return round(min(failed) - fault_start, 3) if failed else None


def failback(
    after: list[dict[str, Any]],
    undo_at: float | None,
    window: float = 1.0,
    threshold: float = 0.95,
    min_requests: int = 5,
) -> dict[str, Any]:
    """What the undo cost: requests and errors after it, and the time to recover from them."""
    if undo_at is None or not after:
        return {"requests": len(after), "errors": 0, "recovered": False, "seconds": None}
    errors = sum(1 for r in after if is_error(r))
    back = recovery_time(
        after, undo_at, window=window, threshold=threshold, min_requests=min_requests
    )
    return {
        "requests": len(after),
        "errors": errors,
        "recovered": "at_most" in back.details or back.details.get("bad_windows") == 0,
        "seconds": back.details.get("seconds"),
        "reason": back.reason.replace("after the fault", "after the undo"),
    }


def within(seconds: float | None, bracket_low: float | None, target_s: float) -> Any:
    """A recovery against a target: True, False, or unknown when the evidence straddles it."""
    if seconds is None:
        return False
    if seconds <= target_s:
        return True
    if bracket_low is not None and bracket_low <= target_s:
        return UNKNOWN
    return False


def rpo(
    records: list[dict[str, Any]],
    lost: list[str],
    faults_at: list[float],
    target_s: float,
) -> dict[str, Any]:
    """Recovery point: the span of acknowledged orders lost, first lost acknowledgement to failover.

    `records` is the history, `lost` the idempotency keys the final read
    did not find, `faults_at` the experiment's fault injections. The
    failover is the first injection at or after the first lost
    acknowledgement (the crash that made the lost writes unrecoverable);
    acknowledgements lost after it stretch the span to the last of them.
    0 s when nothing was lost.
    """
    if not lost:
        return {"seconds": 0.0, "target_s": target_s, "valid": True, "reason": "no order lost"}
    wanted = set(lost)
    acked = [
        float(r["t"]) for r in records if r.get("type") == history.OK and r.get("id") in wanted
    ]
    if not acked:
        return {"seconds": None, "target_s": target_s, "valid": UNKNOWN,
                "reason": "the lost orders' acknowledgements are not in the history"}  # fmt: skip
    first, last = min(acked), max(acked)
    failover_at = min((t for t in faults_at if t >= first), default=None)
    seconds = round(max(failover_at or last, last) - first, 3)
    valid = seconds <= target_s
    verb = "within" if valid else "beyond"
    return {
        "seconds": seconds,
        "target_s": target_s,
        "valid": valid,
        "first_lost_at": first,
        "failover_at": failover_at,
        "reason": f"{len(lost)} acknowledged orders lost over {seconds:.1f} s, "
        f"{verb} {target_s:g} s",
    }
