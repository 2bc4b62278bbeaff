"""The final reads a service contract may declare: names, parameters and result shapes.

The verdicts read a service's database only through these. Each is one
SQL query with a fixed result: the columns below, in that order, named
so (`SELECT idempotency_key AS key, id AS order_id ...`). A verdict whose
read the service does not declare is not judged, and says which read is
missing; it never passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aftershock.errors import SandboxError


@dataclass(frozen=True)
class ReadShape:
    """One named read: its columns, its parameters, and what the verdicts use it for."""

    columns: tuple[str, ...]
    parameters: tuple[str, ...]
    what: str
    noun: str  # "the service declares no <noun> query"


READS: dict[str, ReadShape] = {
    "acknowledged_orders": ReadShape(
        ("key", "order_id"),
        ("prefix",),
        "every order the database holds whose key starts with %(prefix)s (one row per order: "
        "a key held twice is a duplicate); the lost, duplicated and unexpected orders",
        "acknowledged-orders",
    ),
    "stock": ReadShape(
        ("product", "stocked", "left", "sold"),
        (),
        "per product: units ever stocked, units left, units sold; no oversell, "
        "no lost decrement (stocked - left = sold)",
        "stock",
    ),
    "registers": ReadShape(
        ("key", "value", "region", "updated_at"),
        ("prefix",),
        "last-write-wins registers whose key starts with %(prefix)s: no lost update",
        "registers",
    ),
    "outbox": ReadShape(
        ("key", "region", "created_at"),
        (),
        "events written with their order and not yet published: every acknowledged "
        "order has one event everywhere, drained within the promise",
        "outbox",
    ),
}
"""Read name -> its shape. A contract declares any of them; the rest are not judged."""


class QueryShapeWrong(SandboxError):
    """A declared read answered with other columns than its shape; exit 3 (could not run)."""

    exit_code = 3


def not_judged(read: str) -> str:
    """The reason a verdict gives when the service does not declare `read`."""
    return f"not judged: the service declares no {READS[read].noun} query"


def check_shape(service: str, read: str, columns: Sequence[str]) -> None:
    """Raise QueryShapeWrong unless `columns` (a cursor's names) are `read`'s, in order."""
    wanted = READS[read].columns
    got = tuple(c.lower() for c in columns)
    if got != wanted:
        raise QueryShapeWrong(
            f"service {service}: schema.reads.{read} answered columns ({', '.join(got)}), "
            f"not ({', '.join(wanted)}): alias them in its SELECT, in that order"
        )
