"""Final reads on the local sandbox: what the database holds once the load has stopped.

Read from the current leader (through the write endpoint) after every
replica has caught up with it, so the verdict is about data that survives
the next failover, not just data the leader happens to hold.
"""

from __future__ import annotations

from typing import Any

import psycopg

from aftershock import checkers, history
from aftershock.evidence import EvidenceMissing, Run
from aftershock.reconcile import reconcile
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.state import load_credentials
from aftershock.sandbox.topology import Topology
from aftershock.targets.local.observe import replication_lag

STOCK = """
SELECT p.id, p.stocked, p.stock, coalesce(s.sold, 0)::int
FROM products p
LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_lines GROUP BY product_id) s
    ON s.product_id = p.id
ORDER BY p.id
"""


def order_integrity(topology: Topology, run: Run, converge_timeout: float) -> checkers.Result:
    """The run's history against the orders table, once the replicas hold what the leader does.

    Unknown when the replicas do not catch up within `converge_timeout`:
    an order only the leader holds can still be lost by a failover.
    """
    if run.live:
        raise EvidenceMissing(
            f"the load in {run.path} still runs: stop it (stop_load) before the final read"
        )
    if not run.run_id:
        raise EvidenceMissing(f"{run.path} names no run id: its orders cannot be told apart")
    found = history.read(run.path / history.HISTORY_FILE)
    lag = replication_lag(topology, converge_timeout)
    behind = [r for r, v in lag.get("replicas", {}).items() if v["capped"]]
    if lag.get("max") is None or behind:
        why = lag.get("error") or f"{', '.join(behind)} not caught up in {converge_timeout:g} s"
        return checkers.Result(
            "order_integrity", checkers.UNKNOWN, {"replication": lag}, f"no final read: {why}"
        )
    acknowledged = history.acknowledged(history.operations(found.records))
    with connect(topology, load_credentials(topology), dbname="shop", timeout=5) as conn:
        reconciliation = reconcile(conn, acknowledged, run.key_prefix)
    return checkers.order_integrity_reconciled(found.records, reconciliation, found.torn)


def stock_rows(topology: Topology) -> list[tuple[int, int, int, int]]:
    """(product, units stocked, stock left, units sold) for every product, from the leader."""
    with connect(topology, load_credentials(topology), dbname="shop", timeout=5) as conn:
        try:
            rows: list[Any] = conn.execute(STOCK).fetchall()
        except psycopg.errors.UndefinedColumn:
            raise EvidenceMissing(
                f"sandbox {topology.name}'s shop schema predates stock accounting (no "
                "products.stocked): rebuild it with `aftershock sandbox down` and `up`"
            ) from None
    return [(int(p), int(stocked), int(left), int(sold)) for p, stocked, left, sold in rows]
