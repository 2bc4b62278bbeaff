"""The final read of a load run, on any PostgreSQL connection: the sandbox's or Aurora's.

What the orders and stock tables hold once the load has stopped, handed
to `aftershock.check.checkers`. Each target decides how to connect and when its
replicas have caught up; the reading itself is the same everywhere.
"""

from __future__ import annotations

from typing import Any

import psycopg

from aftershock.check import checkers
from aftershock.check.reconcile import Reconciliation, reconcile
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.runs import Run

STOCK = """
SELECT p.id, p.stocked, p.stock, coalesce(s.sold, 0)::int
FROM products p
LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_lines GROUP BY product_id) s
    ON s.product_id = p.id
ORDER BY p.id
"""


def require_finished(run: Run) -> None:
    """Refuse a run whose load still writes, or whose orders cannot be told apart."""
    if run.live:
        raise EvidenceMissing(
            f"the load in {run.path} still runs: stop it (stop_load) before the final read"
        )
    if not run.run_id:
        raise EvidenceMissing(f"{run.path} names no run id: its orders cannot be told apart")


def orders(run: Run, conn: psycopg.Connection[Any]) -> checkers.Result:
    """The run's history against the orders table `conn` reads (one COPY, set differences)."""
    found = history.read(run.path / history.HISTORY_FILE)
    acknowledged = history.acknowledged(history.operations(found.records))
    reconciliation = reconcile(conn, acknowledged, run.key_prefix)
    return judge_reconciled(found.records, reconciliation, found.torn)


def stock_rows(
    conn: psycopg.Connection[Any], where: str, remedy: str = "", query: str = STOCK
) -> list[tuple[int, int, int, int]]:
    """(product, units stocked, stock left, units sold) for every product.

    `where` names the database and `remedy` the fix in the error an old schema gets;
    `query` reads another stock design the same four columns.
    """
    try:
        rows: list[Any] = conn.execute(query).fetchall()
    except psycopg.errors.UndefinedColumn:
        fix = f": {remedy}" if remedy else ""
        raise EvidenceMissing(
            f"{where}'s shop schema predates stock accounting (no products.stocked){fix}"
        ) from None
    return [(int(p), int(stocked), int(left), int(sold)) for p, stocked, left, sold in rows]


def judge_reconciled(
    records: list[dict[str, Any]], reconciliation: Reconciliation, torn: int = 0
) -> checkers.Result:
    """`checkers.order_integrity` when the database took the set differences (`reconcile`).

    The reconciliation must have been made from this history's acknowledged
    orders; when the counts disagree the verdict is unknown.
    """

    def compare(told_ok: dict[str, str]) -> tuple[list[str], list[str], set[str]]:
        if reconciliation.acknowledged != len(told_ok):
            raise ValueError(
                f"the reconciliation holds {reconciliation.acknowledged} acknowledged orders, "
                f"the history {len(told_ok)}: they were not made from one another"
            )
        present = {key for key, _ in reconciliation.unacknowledged}
        return list(reconciliation.lost), list(reconciliation.duplicated), present

    return checkers.checked("order_integrity", checkers.judge_orders, records, torn, compare)
