"""Checkers: pure functions from evidence (history, timeline, final reads) to a verdict.

Every checker returns a `Result` whose `valid` is True, False or "unknown".
"unknown" is an answer, not a failure to answer: the evidence was too thin,
truncated or corrupt to decide, and a checker that raises is unknown too
(`checked`). Nothing here does I/O; the probes read, the checkers judge.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aftershock import history
from aftershock.timeline import is_error

Validity = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"
STEP = 0.1  # seconds: the precision of every time a checker reports


@dataclass(frozen=True)
class Result:
    """A checker's verdict, with the evidence an engineer needs to believe it."""

    checker: str
    valid: Validity
    details: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"checker": self.checker, "valid": self.valid, "reason": self.reason, **self.details}


def compose(results: Iterable[Result]) -> Validity:
    """The verdict of several checkers: false beats unknown beats true; none is unknown."""
    verdicts = [r.valid for r in results]
    if not verdicts:
        return UNKNOWN
    if any(v is False for v in verdicts):
        return False
    if any(v == UNKNOWN for v in verdicts):
        return UNKNOWN
    return True


def checked(name: str, checker: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """Run `checker`; if it raises, the verdict is unknown (never true), with the reason."""
    try:
        return checker(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a crashed checker must say unknown, not crash the run
        return Result(name, UNKNOWN, reason=f"checker raised {type(exc).__name__}: {exc}")


def order_integrity(
    records: list[dict[str, Any]], final_orders: Iterable[tuple[str, int]], torn: int = 0
) -> Result:
    """Jepsen's set checker for orders: what clients were told against what the database holds.

    `records` is the history, `final_orders` every (idempotency key, order
    id) the database holds for the run, `torn` the unreadable lines found in
    the history file. Categories, each with its keys: acknowledged, lost (ok
    but absent, or present under another order id), duplicated (one key,
    several orders), unexpected (present, never invoked), failed_but_present
    (a definite failure that was applied), recovered (unknown but present),
    unknown (unknown and absent). Valid only when lost, duplicated,
    unexpected and failed_but_present are empty; unknown when the history is
    malformed or torn, or when orders are unexplained and the history shows
    a killed writer (its last invokes may be missing).
    """
    name = "order_integrity"
    shape = history.operations(records)
    if shape.problems or torn:
        return Result(
            name,
            UNKNOWN,
            {"problems": shape.problems[:20], "torn_lines": torn},
            "the history is malformed or torn: order loss cannot be judged",
        )
    held: dict[str, list[int]] = defaultdict(list)
    for key, order_id in final_orders:
        held[key].append(int(order_id))
    told_ok = dict(history.acknowledged(shape))
    outcome = {op_id: op.outcome for op_id, op in shape.operations.items()}
    lost = sorted(k for k, oid in told_ok.items() if oid not in held.get(k, []))
    duplicated = sorted(k for k, ids in held.items() if len(ids) > 1)
    unexpected = sorted(k for k in held if k not in outcome)
    failed_present = sorted(k for k in held if outcome.get(k) == history.FAIL)
    recovered = sorted(k for k in held if outcome.get(k) == history.INFO)
    unknown = sorted(k for k, o in outcome.items() if o == history.INFO and k not in held)
    details = {
        "acknowledged": len(told_ok),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "failed_but_present": failed_present,
        "recovered": recovered,
        "unknown": unknown,
        "pending": len(shape.pending),
    }
    broken = {k: details[k] for k in ("lost", "duplicated", "unexpected", "failed_but_present")}
    if not any(broken.values()):
        return Result(name, True, details, f"{len(told_ok)} acknowledged orders all present once")
    if unexpected and shape.pending and not (lost or duplicated or failed_present):
        return Result(
            name,
            UNKNOWN,
            details,
            "orders nobody invoked, but the history ends with "
            "operations in flight: the writer was killed and may have lost invokes",
        )
    summary = ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in broken.items() if v)
    return Result(name, False, details, summary)


def recovery_time(
    timeline: list[dict[str, Any]],
    fault_start: float,
    window: float = 1.0,
    threshold: float = 0.95,
    min_requests: int = 5,
    target: float | None = None,
) -> Result:
    """Seconds from `fault_start` until the success ratio stays at or above `threshold`.

    Windows of `window` seconds slide in 0.1 s steps from the fault to the
    end of the timeline. A window is bad below the threshold, thin with
    fewer than `min_requests`. Recovery is the start of the first good
    window after the last bad one; unknown when the traffic never recovered,
    when no request came after the fault, or when thin windows sit between
    the last bad and the first good one (the moment cannot be placed to
    0.1 s). With `target`, valid means recovery within it.
    """
    name = "recovery_time"
    after = [(float(r["t"]), is_error(r)) for r in timeline if float(r["t"]) >= fault_start]
    if not after:
        return Result(name, UNKNOWN, reason="no request after the fault: nothing to measure")
    width = max(1, round(window / STEP))  # buckets per window
    buckets = math.floor((max(t for t, _ in after) - fault_start) / STEP) + 1
    totals, errors = [0] * buckets, [0] * buckets
    for t, failed in after:
        index = min(buckets - 1, int((t - fault_start) / STEP))
        totals[index] += 1
        errors[index] += failed
    steps = max(1, buckets - width + 1)
    states = [
        _window_state(
            sum(totals[i : i + width]), sum(errors[i : i + width]), threshold, min_requests
        )
        for i in range(steps)
    ]
    bad = [i for i, state in enumerate(states) if state == "bad"]
    first_after = (bad[-1] + 1) if bad else 0
    good = [i for i in range(first_after, steps) if states[i] == "good"]
    details: dict[str, Any] = {
        "windows": steps,
        "bad_windows": len(bad),
        "window_s": window,
        "threshold": threshold,
    }
    if not good:
        return Result(name, UNKNOWN, details, "the success ratio never recovered in the timeline")
    if good[0] != first_after:
        thin = good[0] - first_after
        return Result(
            name, UNKNOWN, details, f"{thin} windows too thin to judge before the first good one"
        )
    seconds = round(good[0] * STEP, 1)
    details["seconds"] = seconds
    if target is None:
        return Result(name, True, details, f"recovered {seconds:.1f} s after the fault")
    valid = seconds <= target
    verb = "within" if valid else "beyond"
    return Result(name, valid, details, f"recovered in {seconds:.1f} s, {verb} {target:g} s")


def _window_state(total: int, errors: int, threshold: float, least: int) -> str:
    if total < least:
        return "thin"
    return "good" if 1 - errors / total >= threshold else "bad"


def availability(timeline: list[dict[str, Any]], slo: float = 0.9999) -> Result:
    """Share of requests the platform answered (no 5xx, no silence), and the SLO verdict."""
    if not timeline:
        return Result("availability", UNKNOWN, reason="no requests")
    errors = sum(1 for r in timeline if is_error(r))
    share = 1 - errors / len(timeline)
    details = {"requests": len(timeline), "errors": errors, "availability": share, "slo": slo}
    return Result("availability", share >= slo, details, f"{share:.4%} against {slo:.2%}")


def error_budget_used(timeline: list[dict[str, Any]], slo: float = 0.9999) -> Result:
    """Fraction of the SLO's error budget this timeline spent (1.0 = all of it)."""
    if not timeline or not 0 < slo < 1:
        return Result("error_budget_used", UNKNOWN, reason="no requests, or an SLO not in (0, 1)")
    errors = sum(1 for r in timeline if is_error(r))
    used = (errors / len(timeline)) / (1 - slo)
    details = {"requests": len(timeline), "errors": errors, "used": used, "slo": slo}
    return Result("error_budget_used", used <= 1.0, details, f"{used:.1%} of the budget used")


def traffic_split(
    timeline: list[dict[str, Any]],
    expected: dict[str, float] | None = None,
    tolerance: float = 0.03,
) -> Result:
    """Share of answered requests per serving region, against `expected` within `tolerance`."""
    served = Counter(r.get("region") for r in timeline if r.get("region"))
    total = sum(served.values())
    if not total:
        return Result("traffic_split", UNKNOWN, reason="no request says which region served it")
    shares = {region: count / total for region, count in sorted(served.items())}
    details = {"requests": total, "shares": shares}
    if expected is None:
        return Result("traffic_split", True, details, "measured, nothing to compare with")
    off = {r: shares.get(r, 0.0) - want for r, want in expected.items()}
    valid = all(abs(d) <= tolerance for d in off.values())
    return Result(
        "traffic_split",
        valid,
        {**details, "off_by": off},
        f"largest deviation {max(abs(d) for d in off.values()):.1%}",
    )


def latency_percentile(
    timeline: list[dict[str, Any]],
    p: float,
    limit_ms: float | None = None,
    answered_only: bool = True,
) -> Result:
    """The `p`th percentile latency (nearest rank), optionally against `limit_ms`."""
    if not 0 < p <= 100:
        raise ValueError(f"p must be in (0, 100], not {p}")
    rows = [r for r in timeline if not (answered_only and int(r.get("status") or 0) == 0)]
    if not rows:
        return Result("latency_percentile", UNKNOWN, reason="no answered requests")
    ordered = sorted(float(r["ms"]) for r in rows)
    value = ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
    details = {"p": p, "ms": value, "requests": len(ordered)}
    if limit_ms is None:
        return Result("latency_percentile", True, details, f"p{p:g} = {value:.1f} ms")
    return Result(
        "latency_percentile",
        value <= limit_ms,
        details,
        f"p{p:g} = {value:.1f} ms against {limit_ms:g} ms",
    )
