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


def replication_held_back(each: Each, since: float) -> checkers.Result:
    """While a cut holds, the newest order each region placed since `since` is not in the
    other region's database: the cut really held replication back.

    Without this, a cut that cut nothing would pass "no downtime" for free.
    Unknown when no region placed an order during the cut.
    """
    newest = each(lambda c: regional_read.newest_since(c, since))
    own = {region: found[region] for region, found in newest.items() if region in found}
    if not own:
        return checkers.Result("replication_held_back", checkers.UNKNOWN, {"since": since},
                               "no region placed an order while the cut held")  # fmt: skip
    holding = each(lambda c: regional_read.held(c, list(own.values())))
    crossed = {
        region: {"key": key, "order_id": order_id, "reached": other}
        for region, (key, order_id) in own.items()
        for other, present in holding.items()
        if other != region and (key, order_id) in present
    }
    details = {"since": since, "newest": {r: list(v) for r, v in own.items()}, "crossed": crossed}
    if crossed:
        where = ", ".join(f"{r}'s order {v['order_id']} reached {v['reached']}"
                          for r, v in crossed.items())  # fmt: skip
        return checkers.Result("replication_held_back", False, details,
                               f"the cut did not hold replication back: {where}")  # fmt: skip
    return checkers.Result("replication_held_back", True, details,
                           "the newest order of " + ", ".join(sorted(own))
                           + " placed during the cut is not in the other region")  # fmt: skip
