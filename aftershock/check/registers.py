"""Lost updates on registers (customer profiles), judged as Elle judges them.

A register's final value must come from a write that no acknowledged
write follows in real time. An acknowledged write `w` is lost when the
final value's write completed before `w` was even invoked: no order of
the operations the clients saw can put `w` before it. Writes that
overlapped in time may land in either order; that is concurrency, not loss.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from aftershock.check.checkers import UNKNOWN, Result
from aftershock.load import history

NAMED = 20


def lost_updates(
    records: Iterable[dict[str, Any]], finals: Mapping[str, Mapping[str, str | None]]
) -> Result:
    """Profile writes (`profiles.jsonl` records) against each region's final values.

    `finals` maps region -> customer -> the value its database holds (None:
    no row). Lost: acknowledged, not final, and the final write completed
    before it began. Failed but present: a definite failure that is final.
    Unexplained: a final value no write of this run carried.
    """
    if not finals:
        return Result("lost_updates", UNKNOWN, reason="no region's profiles were read")
    shape = history.operations(records, orders=False)
    if not shape.well_formed:
        return Result(
            "lost_updates",
            UNKNOWN,
            {"problems": shape.problems[:NAMED]},
            f"malformed profile history: {shape.problems[0]}",
        )
    writes: dict[str, list[history.Operation]] = defaultdict(list)
    for op in shape.operations.values():
        customer = (op.invoke.get("value") or {}).get("customer")
        if isinstance(customer, str):
            writes[customer].append(op)
    lost: list[dict[str, Any]] = []
    failed_present: list[dict[str, Any]] = []
    unexplained: list[dict[str, Any]] = []
    acknowledged = sum(1 for ops in writes.values() for op in ops if op.outcome == history.OK)
    for region in sorted(finals):
        for customer, ops in sorted(writes.items()):
            final = finals[region].get(customer)
            by_value = {op.id: op for op in ops}
            chosen = by_value.get(final) if final is not None else None
            if final is not None and chosen is None:
                unexplained.append({"region": region, "customer": customer, "value": final})
                continue
            if chosen is not None and chosen.outcome == history.FAIL:
                failed_present.append({"region": region, "customer": customer, "value": final})
            settled = _completed_at(chosen)
            for op in ops:
                if op.outcome != history.OK or op is chosen:
                    continue
                if chosen is None or settled < float(op.invoke["t"]):
                    lost.append(
                        {"region": region, "customer": customer, "value": op.id, "final": final}
                    )
    details = {
        "acknowledged": acknowledged,
        "customers": len(writes),
        "lost": lost[:NAMED],
        "lost_count": len(lost),
        "failed_but_present": failed_present[:NAMED],
        "unexplained": unexplained[:NAMED],
        "pending": len(shape.pending),
    }
    if lost or failed_present:
        first = (lost or failed_present)[0]
        return Result(
            "lost_updates",
            False,
            details,
            f"{len(lost)} acknowledged profile write(s) lost, "
            f"{len(failed_present)} failed write(s) present (first: {first})",
        )
    if unexplained:
        return Result(
            "lost_updates",
            UNKNOWN,
            details,
            f"{len(unexplained)} final value(s) no write of this run carried",
        )
    if not acknowledged:
        return Result("lost_updates", UNKNOWN, details, "no profile write was acknowledged")
    return Result(
        "lost_updates",
        True,
        details,
        f"no lost update among {acknowledged} acknowledged write(s) "
        f"to {len(writes)} profile(s) in {len(finals)} region(s)",
    )


def _completed_at(op: history.Operation | None) -> float:
    """When `op` completed; never (infinity) when it did not, or is not known to have."""
    if op is None or op.completion is None or op.outcome == history.INFO:
        return math.inf
    return float(op.completion["t"])
