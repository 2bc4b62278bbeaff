"""Checkers across the two regions' clients: one key, one order; no downtime in a partition.

Pure functions over the load's records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aftershock.check.checkers import UNKNOWN, Result
from aftershock.load import history
from aftershock.load.timeline import is_error

NAMED = 20
HOME = {"TW": "taiwan", "JP": "tokyo"}
"""The region each geo's shoppers belong to: availability is judged per customer region."""
CHECKOUT_ROUTE = "/orders"


def accepted_twice(
    checkouts: Iterable[dict[str, Any]], resubmits: Iterable[dict[str, Any]]
) -> Result:
    """Every key the platform acknowledged with more than one order.

    A checkout sent again with the same key (through the other region) must
    get the same order back, or a refusal; a second order for one key is a
    promise broken, whichever region's copy replication keeps later.
    """
    orders: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    resent = 0
    attempted = 0
    for records, key_of in ((checkouts, _checkout_key), (resubmits, _resubmit_key)):
        shape = history.operations(records)
        if not shape.well_formed:
            return Result(
                "accepted_twice",
                UNKNOWN,
                {"problems": shape.problems[:NAMED]},
                f"malformed history: {shape.problems[0]}",
            )
        for op in shape.operations.values():
            attempted += key_of is _resubmit_key and op.completion is not None
            if op.completion is None or op.outcome != history.OK:
                continue
            value = op.completion.get("value") or {}
            orders[key_of(op)].add((str(value["order_id"]), value.get("region")))
            resent += key_of is _resubmit_key
    twice = {
        key: [{"order_id": o, "region": r} for o, r in sorted(found, key=lambda x: x[0])]
        for key, found in sorted(orders.items())
        if len({o for o, _ in found}) > 1
    }
    details = {
        "keys": len(orders),
        "resubmits": attempted,
        "resubmits_acknowledged": resent,
        "accepted_twice": dict(list(twice.items())[:NAMED]),
        "count": len(twice),
    }
    if twice:
        key, found = next(iter(twice.items()))
        where = " and ".join(f"order {f['order_id']} in {f['region']}" for f in found)
        return Result(
            "accepted_twice",
            False,
            details,
            f"{len(twice)} key(s) accepted twice (first: {key}: {where})",
        )
    if not orders:
        return Result("accepted_twice", UNKNOWN, details, "no checkout was acknowledged")
    if not attempted:  # nothing ever offered a key to a second region: nothing was compared
        return Result("accepted_twice", UNKNOWN, details,
                      "no checkout was sent again through the other region")  # fmt: skip
    return Result(
        "accepted_twice",
        True,
        details,
        f"each of {len(orders)} acknowledged key(s) has one order "
        f"({attempted} resubmission(s) through the other region, {resent} acknowledged)",
    )


def _checkout_key(op: history.Operation) -> str:
    return op.id


def _resubmit_key(op: history.Operation) -> str:
    return str((op.invoke.get("value") or {}).get("key") or op.id.partition("#")[0])


def availability_by_region(
    timeline: Iterable[dict[str, Any]],
    windows: list[tuple[float, float]],
    max_error_ratio: float,
    least: int = 5,
) -> Result:
    """Checkouts of each region's shoppers while a fault held: failed share against the budget.

    ADR-037 promises "no downtime" in a partition: every region keeps
    taking orders. `windows` are the faults' (start, end): every one counts.
    A region with fewer than `least` checkouts in them cannot be judged
    (unknown).
    """
    counts: dict[str, list[int]] = {region: [0, 0] for region in HOME.values()}
    for record in timeline:
        if record.get("route") != CHECKOUT_ROUTE:
            continue
        region = HOME.get(str(record.get("geo")))
        at = float(record.get("t") or 0)
        if region is None or not any(start <= at <= end for start, end in windows):
            continue
        counts[region][0] += 1
        counts[region][1] += is_error(record)
    regions = {
        region: {
            "checkouts": total,
            "failed": failed,
            "error_ratio": round(failed / total, 4) if total else None,
        }
        for region, (total, failed) in counts.items()
    }
    details = {
        "window_s": round(sum(end - start for start, end in windows), 1),
        "windows": len(windows),
        "max_error_ratio": max_error_ratio,
        "regions": regions,
    }
    down = [
        f"{r}: {v['failed']} of {v['checkouts']} checkouts failed"
        for r, v in regions.items()
        if v["checkouts"] >= least and v["error_ratio"] > max_error_ratio
    ]
    if down:
        return Result(
            "availability_by_region",
            False,
            details,
            f"downtime during the fault: {'; '.join(down)}",
        )
    thin = [r for r, v in regions.items() if v["checkouts"] < least]
    if thin:
        return Result(
            "availability_by_region",
            UNKNOWN,
            details,
            f"too few checkouts to judge in {', '.join(thin)} (< {least})",
        )
    return Result(
        "availability_by_region",
        True,
        details,
        "every region kept taking orders: "
        + ", ".join(f"{r} {v['failed']}/{v['checkouts']} failed" for r, v in regions.items()),
    )
