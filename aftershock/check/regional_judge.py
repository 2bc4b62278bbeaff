"""ADR-037's verdicts from each region's final read, whatever target holds the regions.

Each function takes `each`: a callable that runs a read on every region's
own database and returns region -> result (the sandbox's nodes, or the
Aurora writers a target file names), then hands what was read to the
pure checkers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from aftershock.check import checkers, convergence, cross_region, regional_read, registers
from aftershock.load import history

T = TypeVar("T")
Each = Callable[[Callable[[psycopg.Connection[Any]], Any]], dict[str, Any]]


def rows_converged(each: Each, seconds: float | None, target_s: float) -> checkers.Result:
    """Both regions' replicated tables, row by row, and the time they took to agree."""
    return convergence.convergence(each(regional_read.tables), seconds, target_s, seconds is None)


def stock_conserved(each: Each, inventory: str, records: list[dict[str, Any]]) -> checkers.Result:
    """stocked = left + sold per product and region, sold from the orders either region holds."""
    sold = regional_read.units_sold(each(regional_read.order_lines), records)
    return convergence.conservation(each(lambda c: regional_read.stock(c, inventory)), sold)


def orders_across_regions(
    each: Each, found: history.Records, resubmits: list[dict[str, Any]], prefix: str
) -> dict[str, Any]:
    """Jepsen's set check in every region, and no key acknowledged with two orders."""
    per_region = {
        region: checkers.order_integrity(found.records, held, found.torn)
        for region, held in each(lambda c: regional_read.orders(c, prefix)).items()
    }
    twice = checkers.checked(
        "accepted_twice", cross_region.accepted_twice, found.records, resubmits
    )
    details = {
        "regions": {r: v.as_dict() for r, v in per_region.items()},
        "accepted_twice": twice.as_dict(),
        "lost": sorted({k for v in per_region.values() for k in v.details.get("lost", [])}),
        "lost_by_region": {r: len(v.details.get("lost", [])) for r, v in per_region.items()},
        "keys_accepted_twice": twice.details.get("count", 0),
    }
    name = "orders_across_regions"
    broken = [f"{r}: {v.reason}" for r, v in per_region.items() if v.valid is False]
    if twice.valid is False:
        broken.append(twice.reason)
    if broken:
        return {"checker": name, "valid": False, "reason": "; ".join(broken), **details}
    parts = [*per_region.values(), twice]
    if any(p.valid == checkers.UNKNOWN for p in parts):
        why = "; ".join(p.reason for p in parts if p.valid == checkers.UNKNOWN)
        return {"checker": name, "valid": checkers.UNKNOWN, "reason": why, **details}
    acknowledged = next(iter(per_region.values())).details.get("acknowledged", 0)
    reason = f"{acknowledged} acknowledged orders present once in every region; {twice.reason}"
    return {"checker": name, "valid": True, "reason": reason, **details}


def lost_updates(each: Each, records: list[dict[str, Any]], prefix: str) -> checkers.Result:
    """Acknowledged profile writes against each region's final values."""
    finals = each(lambda c: regional_read.profiles(c, prefix))
    return checkers.checked("lost_updates", registers.lost_updates, records, finals)


HELD_BACK_SETTLE_S = 2.0
"""Seconds an order is given to cross before its absence counts: far above the normal lag."""
HELD_BACK_LEAST = 3
"""Orders a region must have placed during the cut for the cut to be judged there."""


HELD_BACK_ONSET_S = 1.0
"""Seconds after `since` a cut may take to hold: a fault is recorded before it acts, and an
order committed in between may cross (seen: 0.3 s from the record to the last nft rule)."""


def replication_held_back(
    each: Each,
    since: float,
    settle_s: float = HELD_BACK_SETTLE_S,
    least: int = HELD_BACK_LEAST,
    onset_s: float = HELD_BACK_ONSET_S,
) -> checkers.Result:
    """While a cut holds, no order a region placed since it took hold is in the other region.

    Every order placed during the cut and older than `settle_s` is looked
    for on the other side, not one: under asynchronous replication the
    newest order alone can be missing from a cut that cut nothing. Without
    this, a cut that cut nothing would pass "no downtime" for free. Unknown
    when a region placed fewer than `least` such orders.
    """
    held_from = since + onset_s
    placed = each(lambda c: regional_read.placed_since(c, held_from, settle_s))
    own = {region: found.get(region, []) for region, found in placed.items()}
    counts = {region: len(orders) for region, orders in own.items()}
    details: dict[str, Any] = {"since": since, "onset_s": onset_s, "settle_s": settle_s,
                               "placed": counts}  # fmt: skip
    thin = sorted(r for r, n in counts.items() if n < least)
    every = [order for orders in own.values() for order in orders]
    holding = each(lambda c: regional_read.held(c, every)) if every else {}
    crossed = {
        region: sorted(oid for key, oid in orders if (key, oid) in holding.get(other, set()))
        for region, orders in own.items()
        for other in holding
        if other != region
    }
    details["crossed"] = {
        r: {"count": len(ids), "order_ids": ids[:10]} for r, ids in crossed.items()
    }
    if any(crossed.values()):
        where = ", ".join(
            f"{len(ids)} of {counts[r]} orders {r} placed during the cut reached the other region"
            for r, ids in crossed.items()
            if ids
        )
        return checkers.Result("replication_held_back", False, details,
                               f"the cut did not hold replication back: {where}")  # fmt: skip
    if not own or thin:
        why = ", ".join(f"{r} {counts.get(r, 0)}" for r in thin) or "none"
        reason = (
            f"too few orders placed during the cut to judge it (older than {settle_s:g} s: "
            f"{why}; at least {least} each)"
        )
        return checkers.Result("replication_held_back", checkers.UNKNOWN, details, reason)
    placed_line = ", ".join(f"{r} {n}" for r, n in sorted(counts.items()))
    reason = f"none of the orders placed during the cut reached the other region ({placed_line})"
    return checkers.Result("replication_held_back", True, details, reason)
