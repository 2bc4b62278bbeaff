"""Final reads on the local sandbox: what the database holds once the load has stopped.

Read from the current leader (through the write endpoint) after every
replica has caught up with it, so the verdict is about data that survives
the next failover, not just data the leader happens to hold.
"""

from __future__ import annotations

from aftershock.check import checkers, final_read
from aftershock.config.topology import Topology
from aftershock.load.runs import Run
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.state import load_credentials
from aftershock.targets.local.observe import replication_lag


def order_integrity(topology: Topology, run: Run, converge_timeout: float) -> checkers.Result:
    """The run's history against the orders table, once the replicas hold what the leader does.

    Unknown when the replicas do not catch up within `converge_timeout`:
    an order only the leader holds can still be lost by a failover.
    """
    final_read.require_finished(run)
    lag = replication_lag(topology, converge_timeout)
    behind = [r for r, v in lag.get("replicas", {}).items() if v["capped"]]
    if lag.get("max") is None or behind:
        why = lag.get("error") or f"{', '.join(behind)} not caught up in {converge_timeout:g} s"
        return checkers.Result(
            "order_integrity", checkers.UNKNOWN, {"replication": lag}, f"no final read: {why}"
        )
    with connect(topology, load_credentials(topology), dbname="shop", timeout=5) as conn:
        return final_read.orders(run, conn)


def stock_rows(topology: Topology) -> list[tuple[int, int, int, int]]:
    """(product, units stocked, stock left, units sold) for every product, from the leader."""
    with connect(topology, load_credentials(topology), dbname="shop", timeout=5) as conn:
        return final_read.stock_rows(
            conn,
            f"sandbox {topology.name}",
            remedy="rebuild it with `aftershock sandbox down` and `up`",
        )
