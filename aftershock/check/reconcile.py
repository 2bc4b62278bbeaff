"""Final reads at scale: what the orders table holds for a run, against what clients were told.

One round trip per step, never a query per order: the acknowledged
(idempotency key, order id) pairs are COPYed into a temporary table and the
database takes the set differences. The verdict stays with
`aftershock.check.checkers`; this module only reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

LOST = """
SELECT a.key FROM acked a LEFT JOIN orders o ON o.idempotency_key = a.key AND o.id = a.order_id
WHERE o.id IS NULL ORDER BY a.key
"""
DUPLICATED = """
SELECT idempotency_key FROM orders WHERE idempotency_key LIKE %(prefix)s
GROUP BY idempotency_key HAVING count(*) > 1 ORDER BY 1
"""
UNACKNOWLEDGED = """
SELECT o.idempotency_key, o.id FROM orders o LEFT JOIN acked a ON a.key = o.idempotency_key
WHERE o.idempotency_key LIKE %(prefix)s AND a.key IS NULL ORDER BY 1
"""


CHUNK = 50_000


def _copy_text(value: str) -> str:
    """`value` escaped for COPY's text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


@dataclass(frozen=True)
class Reconciliation:
    """The database's side of an order-integrity check for one run's keys."""

    acknowledged: int
    held: int  # orders under the run's prefix
    lost: list[str]  # acknowledged, but no order with that key and id
    duplicated: list[str]  # one key, several orders (only without the unique constraint)
    unacknowledged: list[tuple[str, int]]  # held, never acknowledged: recovered or unexpected


def reconcile(
    conn: psycopg.Connection[Any], acknowledged: Iterable[tuple[str, str]], key_prefix: str
) -> Reconciliation:
    """Compare acknowledged orders with the orders table, for keys starting with `key_prefix`.

    `unacknowledged` goes back to the checker with the history: an order
    whose operation ended `info` is recovered, one nobody invoked is
    unexpected; only the history can tell which.
    """
    like = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE acked (key text, order_id bigint) ON COMMIT DROP")
        count = 0
        with conn.cursor().copy("COPY acked (key, order_id) FROM STDIN") as copy:
            # COPY's text format, built in chunks: write_row per pair costs
            # more than the whole comparison in the database.
            chunk: list[str] = []
            for key, order_id in acknowledged:
                chunk.append(f"{_copy_text(key)}\t{int(order_id)}\n")
                if len(chunk) == CHUNK:
                    copy.write("".join(chunk))
                    count, chunk = count + len(chunk), []
            copy.write("".join(chunk))
            count += len(chunk)
        conn.execute("ANALYZE acked")  # the planner then hashes instead of looping
        lost = [row[0] for row in conn.execute(LOST)]
        duplicated = [row[0] for row in conn.execute(DUPLICATED, {"prefix": like})]
        extra = [(k, int(i)) for k, i in conn.execute(UNACKNOWLEDGED, {"prefix": like})]
        held = conn.execute(
            "SELECT count(*) FROM orders WHERE idempotency_key LIKE %(prefix)s", {"prefix": like}
        ).fetchone()
    return Reconciliation(count, int(held[0]) if held else 0, lost, duplicated, extra)
