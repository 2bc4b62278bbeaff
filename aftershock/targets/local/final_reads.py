"""Final reads on the local sandbox: what the database holds once the load has stopped.

Read from the current leader (through the write endpoint) after every
replica has caught up with it, so the verdict is about data that survives
the next failover, not just data the leader happens to hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import psycopg

from aftershock.check import checkers, final_read
from aftershock.config.topology import Topology
from aftershock.errors import EvidenceMissing
from aftershock.load.runs import Run
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.state import load_credentials
from aftershock.targets.local.observe import replication_lag

T = TypeVar("T")
RETRY_S = 30.0  # seconds a final read retries transient database errors


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

    def read() -> checkers.Result:
        with connect(topology, load_credentials(topology), dbname="shop", timeout=5) as conn:
            return final_read.orders(run, conn)

    return retrying(read, "the final read of the orders table")


def stock_rows(topology: Topology) -> list[tuple[int, int, int, int]]:
    """(product, units stocked, stock left, units sold) for every product, from the leader."""

    def read() -> list[tuple[int, int, int, int]]:
        with connect(topology, load_credentials(topology), dbname="shop", timeout=5) as conn:
            return final_read.stock_rows(
                conn,
                f"sandbox {topology.name}",
                remedy="rebuild it with `aftershock sandbox down` and `up`",
            )

    return retrying(read, "the stock read")


def retrying(read: Callable[[], T], what: str, deadline_s: float = RETRY_S) -> T:
    """`read()`, again while the database answers with a transient error, until `deadline_s`.

    A leader that restarts or hands over right after a fault ends the
    final read's connection (`AdminShutdown`, a refused connect): that is
    the platform settling, not a verdict. Past the deadline the error
    stands, and the probe says it could not look.
    """
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return read()
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise EvidenceMissing(
                    f"could not look: {what} failed for {deadline_s:g} s: {first}"
                ) from exc
            time.sleep(1.0)
