"""Checkers over two writers' final reads: do they agree, and does the stock add up.

Pure functions; the probes read each region's database and hand the rows here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aftershock.check.checkers import UNKNOWN, Result

Rows = Mapping[str, Mapping[str, Any]]
"""One table's rows of one region: primary key (as text) -> row."""

NAMED = 20  # rows or products named in a verdict; the counts say how many more


def convergence(
    tables: Mapping[str, Mapping[str, Rows]],
    seconds: float | None,
    target_s: float,
    capped: bool = False,
) -> Result:
    """Both regions hold the same rows, and got there within `target_s` of the heal.

    `tables` maps region -> table -> rows, read once the load stopped;
    `seconds` is the time from the heal until a write made after it had
    crossed both ways (None: it never did, `capped` says the wait ended at
    its budget). Every row that differs is named, with both regions' values.
    """
    regions = sorted(tables)
    if len(regions) != 2:
        return Result(
            "convergence",
            UNKNOWN,
            {"regions": regions},
            f"needs the final read of two regions, got {len(regions)}",
        )
    a, b = regions
    differing: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    for table in sorted(set(tables[a]) | set(tables[b])):
        left, right = tables[a].get(table, {}), tables[b].get(table, {})
        diffs = [
            {"key": key, a: left.get(key), b: right.get(key)}
            for key in sorted(set(left) | set(right))
            if left.get(key) != right.get(key)
        ]
        if diffs:
            differing[table] = diffs[:NAMED]
            counts[table] = len(diffs)
    details = {
        "seconds": seconds,
        "target_s": target_s,
        "differing": differing,
        "differing_rows": counts,
        "capped": capped,
    }
    late = ""
    if seconds is None:
        late = "replication did not resume after the heal: no write crossed both ways"
    elif seconds > target_s:
        late = f"caught up {seconds:.1f} s after the heal: over the {target_s:g} s promise"
    if differing:
        where = ", ".join(f"{n} {t} row(s)" for t, n in counts.items())
        first = next(iter(differing.values()))[0]
        reason = f"diverged: {where} differ between {a} and {b} (first: {first})"
        return Result("convergence", False, details, f"{reason}; {late}" if late else reason)
    if late:
        return Result("convergence", False, details, late)
    return Result(
        "convergence",
        True,
        details,
        f"identical rows in both regions, {seconds:.1f} s after the heal",
    )


def time_to_converge(samples: Iterable[dict[str, Any]], heal_at: float) -> float | None:
    """Seconds from the heal until a write made after it had crossed every way.

    `samples` are the lag recorder's (`replication_lag.jsonl`): each wrote
    a row at `t` and says how long each region took to see it. The first
    sample taken after the heal that every region saw uncapped is the
    moment replication caught up with everything before it (changes apply
    in commit order); None when no sample shows that.
    """
    for sample in sorted(samples, key=lambda s: float(s.get("t") or 0)):
        at = float(sample.get("t") or 0)
        replicas = sample.get("replicas") or {}
        if at < heal_at or sample.get("error") or not replicas:
            continue
        if any(r.get("capped") or r.get("seconds") is None for r in replicas.values()):
            continue
        # Each direction's row was written at its own time when measured in turn (`t`).
        crossed = max(float(r.get("t") or at) + float(r["seconds"]) for r in replicas.values())
        return round(crossed - heal_at, 3)
    return None


def conservation(
    stock: Mapping[str, Mapping[int, tuple[int, int]]], sold: Mapping[int, int]
) -> Result:
    """Jepsen's bank check for stock: in every region, stocked = left + sold, per product.

    `stock` maps region -> product -> (units stocked, units the region's
    database says are left, by the design's own accounting); `sold` maps
    product -> units in acknowledged or present orders (every sale a
    customer was promised). Left above stocked - sold is lost decrements
    (units that will be sold twice); sold above stocked is overselling;
    left below stocked - sold is phantom sales.
    """
    if not stock:
        return Result("inventory_conservation", UNKNOWN, reason="no region's stock was read")
    unread = {
        region: sorted(p for p in sold if p not in rows)[:NAMED]
        for region, rows in stock.items()
        if not rows or any(p not in rows for p in sold)
    }
    findings: dict[str, dict[str, dict[str, int]]] = {}
    totals: dict[str, dict[str, int]] = {}
    for region in sorted(stock):
        lost: dict[str, int] = {}
        phantom: dict[str, int] = {}
        oversold: dict[str, int] = {}
        for product, (stocked, left) in sorted(stock[region].items()):
            units = sold.get(product, 0)
            expected = stocked - units
            if units > stocked:
                oversold[str(product)] = units - stocked
            if left > max(expected, 0):
                lost[str(product)] = left - max(expected, 0)
            elif left < expected:
                phantom[str(product)] = expected - left
        findings[region] = {
            "lost_decrements": _first(lost),
            "oversold": _first(oversold),
            "phantom_sales": _first(phantom),
        }
        totals[region] = {
            "lost_decrement_units": sum(lost.values()),
            "lost_decrement_products": len(lost),
            "oversold_units": sum(oversold.values()),
            "phantom_units": sum(phantom.values()),
        }
    unknown_products = sorted(set(sold) - set().union(*(set(s) for s in stock.values())))
    details = {
        "regions": findings,
        "totals": totals,
        "units_sold": sum(sold.values()),
        "unknown_products": unknown_products[:NAMED],
    }
    broken = [
        f"{region}: {_summary(t)}"
        for region, t in totals.items()
        if t["lost_decrement_units"] or t["oversold_units"] or t["phantom_units"]
    ]
    if broken:
        return Result("inventory_conservation", False, details, "; ".join(broken))
    if unread:
        details["unread"] = unread
        where = ", ".join(unread)
        return Result("inventory_conservation", UNKNOWN, details,
                      f"the stock read of {where} lacks products that were sold")  # fmt: skip
    if unknown_products:
        return Result(
            "inventory_conservation",
            UNKNOWN,
            details,
            f"sales of {len(unknown_products)} product(s) no region stocks",
        )
    return Result(
        "inventory_conservation",
        True,
        details,
        f"stocked = left + sold for every product in {len(stock)} region(s), "
        f"{sum(sold.values())} unit(s) sold",
    )


def _summary(totals: dict[str, int]) -> str:
    parts = []
    if totals["lost_decrement_units"]:
        parts.append(
            f"{totals['lost_decrement_units']} unit(s) of lost decrements on "
            f"{totals['lost_decrement_products']} product(s)"
        )
    if totals["oversold_units"]:
        parts.append(f"{totals['oversold_units']} unit(s) oversold")
    if totals["phantom_units"]:
        parts.append(f"{totals['phantom_units']} unit(s) of phantom sales")
    return ", ".join(parts)


def _first(by_product: dict[str, int]) -> dict[str, int]:
    """The products with the most units first, at most NAMED of them."""
    ranked = sorted(by_product.items(), key=lambda item: (-item[1], int(item[0])))
    return dict(ranked[:NAMED])
