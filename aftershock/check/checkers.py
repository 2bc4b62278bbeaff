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

from aftershock.load import history
from aftershock.load.timeline import is_answered, is_error, percentile_ms

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


def checked(name: str, checker: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """Run `checker`; if it raises, the verdict is unknown (never true), with the reason."""
    try:
        return checker(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a crashed checker must say unknown, not crash the run
        return Result(name, UNKNOWN, reason=f"checker raised {type(exc).__name__}: {exc}")


def order_integrity(
    records: list[dict[str, Any]], final_orders: Iterable[tuple[str, Any]], torn: int = 0
) -> Result:
    """Jepsen's set checker for orders: what clients were told against what the database holds.

    `records` is the history, `final_orders` every (idempotency key, order
    id) the database holds for the run, `torn` the unreadable lines found in
    the history file. Categories, each with its keys: acknowledged, lost (ok
    but absent, or present under another order id), duplicated (one key,
    several orders), unexpected (present, never invoked), failed_but_present
    (a definite failure that was applied), recovered (unknown but present),
    unknown (unknown and absent). Valid only when lost, duplicated,
    unexpected and failed_but_present are empty and at least one order was
    acknowledged; unknown when none was (nothing could be lost), when the
    history is malformed or torn, or when orders are unexplained and the
    history shows a killed writer (its last invokes may be missing).
    """
    held: dict[str, list[str]] = defaultdict(list)
    for key, order_id in final_orders:
        held[key].append(str(order_id))  # opaque ids, compared as text (history.acknowledged)

    def compare(told_ok: dict[str, str]) -> tuple[list[str], list[str], set[str]]:
        lost = [k for k, oid in told_ok.items() if oid not in held.get(k, [])]
        duplicated = [k for k, ids in held.items() if len(ids) > 1]
        return lost, duplicated, {k for k in held if k not in told_ok}

    return judge_orders(records, torn, compare)


def judge_orders(
    records: list[dict[str, Any]],
    torn: int,
    compare: Callable[[dict[str, str]], tuple[list[str], list[str], set[str]]],
) -> Result:
    """Categories and verdict; `compare` gives lost, duplicated and present unacknowledged keys.

    `compare` gets the acknowledged orders (key -> order id) and says which
    are lost, which keys are duplicated, and which keys the final read holds
    that were not acknowledged: from a list in memory (`order_integrity`) or
    from the database's own set differences (`final_read.judge_reconciled`)."""
    name = "order_integrity"
    shape = history.operations(records)
    if shape.problems or torn:
        return Result(
            name,
            UNKNOWN,
            {"problems": shape.problems[:20], "torn_lines": torn},
            "the history is malformed or torn: order loss cannot be judged",
        )
    told_ok = dict(history.acknowledged(shape))
    outcome = {op_id: op.outcome for op_id, op in shape.operations.items()}
    lost, duplicated, present = compare(told_ok)
    details = {
        "acknowledged": len(told_ok),
        "lost": sorted(lost),
        "duplicated": sorted(duplicated),
        "unexpected": sorted(k for k in present if k not in outcome),
        "failed_but_present": sorted(k for k in present if outcome.get(k) == history.FAIL),
        "recovered": sorted(k for k in present if outcome.get(k) == history.INFO),
        "unknown": sorted(k for k, o in outcome.items() if o == history.INFO and k not in present),
        "pending": len(shape.pending),
    }
    broken = {k: details[k] for k in ("lost", "duplicated", "unexpected", "failed_but_present")}
    if not any(broken.values()) and not told_ok:
        # "0 lost of 0" rules nothing out: a platform that refused every order passes it.
        return Result(name, UNKNOWN, details, "no order was acknowledged: nothing could be lost")
    if not any(broken.values()):
        return Result(name, True, details, f"{len(told_ok)} acknowledged orders all present once")
    if (
        broken["unexpected"]
        and shape.pending
        and not (lost or duplicated or broken["failed_but_present"])
    ):
        return Result(
            name,
            UNKNOWN,
            details,
            "orders nobody invoked, but the history ends with "
            "operations in flight: the writer was killed and may have lost invokes",
        )
    summary = ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in broken.items() if v)
    return Result(name, False, details, summary)


def inventory(stock_rows: Iterable[tuple[int, int, int, int]]) -> Result:
    """No oversell: per product (id, units stocked, stock left, units sold in order lines).

    Oversold: more sold than ever stocked, or stock below zero. Phantom
    stock: more left than stocked minus sold, so units already sold will
    be sold again (a lost stock update). Missing stock (less left than
    stocked minus sold: orders removed after their stock was taken) is
    reported, not judged: it cannot oversell. Unknown with no products.
    """
    name = "no_oversell"
    oversold, phantom, missing = [], [], []
    products = 0
    for product, stocked, left, sold in stock_rows:
        products += 1
        row = {"product": product, "stocked": stocked, "left": left, "sold": sold}
        if sold > stocked or left < 0:
            oversold.append(row)
        elif left > stocked - sold:
            phantom.append(row)
        elif left < stocked - sold:
            missing.append(row)
    details = {
        "products": products,
        "oversold": oversold,
        "phantom_stock": phantom,
        "missing_stock": missing,
    }
    if not products:
        return Result(name, UNKNOWN, details, "no products to check")
    if oversold or phantom:
        return Result(
            name,
            False,
            details,
            f"{len(oversold)} products oversold, {len(phantom)} with phantom stock",
        )
    return Result(name, True, details, f"{products} products, none sold beyond its stock")


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
    fewer than `min_requests` (unless its errors alone would keep it below
    the threshold had the rest of `min_requests` succeeded). The first good
    window after the last bad one holds the recovery; it is placed between
    the last failed request before the first success in that window
    (`at_least`) and that success (`at_most`; `seconds` is it rounded up to 0.1 s).
    Unknown when the traffic never recovered, when no request came after
    the fault, or when those two requests are more than 0.1 s apart (too
    little traffic to place the moment) and `target` falls between them.
    With `target`, valid means recovery within it.
    """
    name = "recovery_time"
    after = sorted((float(r["t"]), is_error(r)) for r in timeline if float(r["t"]) >= fault_start)
    if not after:
        return Result(name, UNKNOWN, reason="no request after the fault: nothing to measure")
    states = _window_states(after, fault_start, window, threshold, min_requests)
    bad = [i for i, state in enumerate(states) if state == "bad"]
    first_after = (bad[-1] + 1) if bad else 0
    good = [i for i in range(first_after, len(states)) if states[i] == "good"]
    details: dict[str, Any] = {
        "windows": len(states),
        "bad_windows": len(bad),
        "window_s": window,
        "threshold": threshold,
    }
    if not good:
        return Result(name, UNKNOWN, details, "the success ratio never recovered in the timeline")
    opened = fault_start + good[0] * STEP
    success = next(t for t, failed in after if t >= opened and not failed)
    failure = max((t for t, failed in after if failed and t < success), default=fault_start)
    # Rounded up: a recovery time is never reported earlier than the evidence allows.
    seconds = math.ceil((success - fault_start) / STEP - 1e-9) * STEP
    details |= {
        "seconds": round(seconds, 1),
        "at_least": round(failure - fault_start, 3),
        "at_most": round(success - fault_start, 3),
    }
    if not bad:
        details["seconds"] = 0.0
    elif success - failure > STEP + 1e-9:
        return _bracketed(details, target)
    seconds = details["seconds"]
    if target is None:
        return Result(name, True, details, f"recovered {seconds:.1f} s after the fault")
    valid = seconds <= target
    verb = "within" if valid else "beyond"
    return Result(name, valid, details, f"recovered in {seconds:.1f} s, {verb} {target:g} s")


def _bracketed(details: dict[str, Any], target: float | None) -> Result:
    """Recovery known only to lie between two requests more than 0.1 s apart.

    No figure is claimed, but a target wholly on one side of the bracket is
    still decided: recovered by `at_most` is within any target above it.
    """
    low, high = details["at_least"], details["at_most"]
    between = f"recovered between {low:.2f} and {high:.2f} s after the fault"
    thin = "too little traffic to place it within 0.1 s"
    if target is not None and high <= target:
        return Result("recovery_time", True, details, f"{between}, within {target:g} s ({thin})")
    if target is not None and low > target:
        return Result("recovery_time", False, details, f"{between}, beyond {target:g} s ({thin})")
    return Result("recovery_time", UNKNOWN, details, f"{between}: {thin}")


def _window_states(
    after: list[tuple[float, bool]],
    fault_start: float,
    window: float,
    threshold: float,
    min_requests: int,
) -> list[str]:
    """good / bad / thin for each `window`-long window, starting every 0.1 s from the fault."""
    width = max(1, round(window / STEP))  # buckets per window
    buckets = math.floor((after[-1][0] - fault_start) / STEP) + 1
    totals, errors = [0] * buckets, [0] * buckets
    for t, failed in after:
        index = min(buckets - 1, int((t - fault_start) / STEP))
        totals[index] += 1
        errors[index] += failed
    steps = max(1, buckets - width + 1)
    return [
        _window_state(
            sum(totals[i : i + width]), sum(errors[i : i + width]), threshold, min_requests
        )
        for i in range(steps)
    ]


def _window_state(total: int, errors: int, threshold: float, least: int) -> str:
    if total < least:
        # Too few requests to call it good, but enough errors can already
        # settle it: filled up to `least` with successes it would still fail.
        return "bad" if least - errors < threshold * least else "thin"
    return "good" if 1 - errors / total >= threshold else "bad"


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
    timeline: list[dict[str, Any]], p: float, limit_ms: float | None = None
) -> Result:
    """The `p`th percentile latency of answered requests (`traffic.percentile_ms`).

    Optionally judged against `limit_ms`; unknown with no answered request.
    """
    value = percentile_ms(timeline, p)
    if value is None:
        return Result("latency_percentile", UNKNOWN, reason="no answered requests")
    answered = sum(1 for r in timeline if is_answered(r))
    details = {"p": p, "ms": value, "requests": answered}
    if limit_ms is None:
        return Result("latency_percentile", True, details, f"p{p:g} = {value:.1f} ms")
    return Result(
        "latency_percentile",
        value <= limit_ms,
        details,
        f"p{p:g} = {value:.1f} ms against {limit_ms:g} ms",
    )
