"""Jepsen's total-queue checker for order events: every acknowledged order, once, everywhere.

The queue here is the event path: an order the shop acknowledged must have
exactly one event in each region's copy of the stream (its own `orders`
stream plus its mirror of the other region's) and exactly one delivery by
each region's fulfilment consumer. Pure: it judges what the caller read
after the drain, and never reads anything itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from aftershock.check.checkers import UNKNOWN, Result
from aftershock.load import history

NAME = "total_queue"
SHOWN = 20
"""Keys listed per category; the counts are always complete."""

NO_KEY = "<no key>"
"""How an event that carries no idempotency key is named: it matches no order."""


def total_queue(
    records: list[dict[str, Any]],
    torn: int,
    copies: Mapping[str, Iterable[str | None]],
    deliveries: Mapping[str, Iterable[str | None]],
) -> Result:
    """Judge each region's events (`copies`) and deliveries against the order history.

    Categories, each counted and named by key: lost (an acknowledged order
    with no event in a region's copy, or never delivered there), duplicated
    (a key held or delivered twice in one region), unexpected (an event for
    an order never invoked or definitely refused, or with no key), recovered
    (an event for an order whose answer was lost: it may exist, and did).
    A region absent from `deliveries` has its events judged and its
    deliveries reported as not observed (a remote target's consumers keep
    their own records): what was found broken still fails, but nothing
    passes on half of its evidence, so the verdict is then unknown. Valid
    only when lost, duplicated and unexpected are all empty in every
    region's events and deliveries; unknown when the history is malformed
    or torn.
    """
    shape = history.operations(records)
    if shape.problems or torn:
        return Result(
            NAME,
            UNKNOWN,
            {"problems": shape.problems[:SHOWN], "torn_lines": torn},
            "the history is malformed or torn: event loss cannot be judged",
        )
    acknowledged = {key for key, _ in history.acknowledged(shape)}
    outcome = {op_id: op.outcome for op_id, op in shape.operations.items()}
    regions: dict[str, dict[str, Any]] = {}
    lost: set[str] = set()
    duplicated: set[str] = set()
    unexpected: set[str] = set()
    recovered: set[str] = set()
    for region in sorted(copies):
        held = Counter(key or NO_KEY for key in copies[region])
        observed = region in deliveries
        delivered = Counter(key or NO_KEY for key in deliveries.get(region, ()))
        region_lost = sorted(acknowledged - held.keys())
        undelivered = sorted(acknowledged - delivered.keys()) if observed else []
        twice = sorted(k for k, n in held.items() if n > 1)
        twice_delivered = sorted(k for k, n in delivered.items() if n > 1)
        for key in held.keys() | delivered.keys():
            if key in acknowledged:
                continue
            if outcome.get(key) == history.INFO:
                recovered.add(key)
            else:
                unexpected.add(key)
        lost |= set(region_lost) | set(undelivered)
        duplicated |= set(twice) | set(twice_delivered)
        regions[region] = {
            "events": sum(held.values()),
            "delivered": sum(delivered.values()) if observed else "not observed",
            "lost_events": _named(region_lost),
            "undelivered": _named(undelivered),
            "duplicated_events": _named(twice),
            "duplicated_deliveries": _named(twice_delivered),
        }
    details = {
        "acknowledged": len(acknowledged),
        "regions": regions,
        "lost": _named(sorted(lost)),
        "duplicated": _named(sorted(duplicated)),
        "unexpected": _named(sorted(unexpected)),
        "recovered": _named(sorted(recovered)),
    }
    if not regions:
        return Result(NAME, UNKNOWN, details, "no region's events were read")
    if not acknowledged and not (unexpected or duplicated):
        # A load that placed no order leaves nothing to lose: no event is no evidence.
        return Result(NAME, UNKNOWN, details, "no order was acknowledged: nothing to judge")
    broken = {"lost": lost, "duplicated": duplicated, "unexpected": unexpected}
    blind = [r for r in regions if r not in deliveries]
    if not any(broken.values()) and blind:
        # Half the evidence is no pass: an event in the stream is not an order shipped.
        return Result(
            NAME,
            UNKNOWN,
            details,
            f"{len(acknowledged)} acknowledged orders: one event each in {', '.join(regions)}, "
            f"but could not look at the deliveries in {', '.join(blind)}",
        )
    if not any(broken.values()):
        return Result(
            NAME,
            True,
            details,
            f"{len(acknowledged)} acknowledged orders: one event and one delivery each "
            f"in {', '.join(regions)}",
        )
    summary = ", ".join(f"{len(keys)} {name}" for name, keys in broken.items() if keys)
    first = next(sorted(keys)[0] for keys in broken.values() if keys)
    return Result(NAME, False, details, f"{summary} (first: {first})")


def _named(keys: list[str]) -> dict[str, Any]:
    return {"count": len(keys), "keys": keys[:SHOWN]}
