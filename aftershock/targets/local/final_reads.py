"""Final reads on the local sandbox: what the database holds once the load has stopped.

Read from the current leader (through the write endpoint) after every
replica has caught up with it, so the verdict is about data that survives
the next failover, not just data the leader happens to hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from aftershock.check import checkers, final_read
from aftershock.config.topology import REGIONS, Topology
from aftershock.errors import EvidenceMissing
from aftershock.load.runs import Run
from aftershock.sandbox.endpoints import connect, connect_node
from aftershock.sandbox.shop.schema import DATABASE
from aftershock.sandbox.state import load_credentials, options_of, writers_of
from aftershock.targets.local.observe import replication_lag

T = TypeVar("T")
DELTA_STOCK = """
SELECT a.product_id, sum(a.allotted)::int, sum(a.allotted - a.sold)::int, coalesce(s.sold, 0)::int
FROM stock_allotments a
LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_lines GROUP BY product_id) s
    ON s.product_id = a.product_id
GROUP BY a.product_id, s.sold
ORDER BY a.product_id
"""
"""The `delta` design's stock: what is left is the allotments' sum, not the product row."""
RETRY_S = 30.0  # seconds a final read retries transient database errors


def order_integrity(topology: Topology, run: Run, converge_timeout: float) -> checkers.Result:
    """The run's history against the orders table, once the replicas hold what the leader does.

    Unknown when the replicas do not catch up within `converge_timeout`:
    an order only the leader holds can still be lost by a failover.
    """
    final_read.require_finished(run)
    lag = _caught_up(topology, converge_timeout)
    behind = [r for r, v in lag.get("replicas", {}).items() if v["capped"]]
    if lag.get("max") is None or behind:
        why = lag.get("error") or f"{', '.join(behind)} not caught up in {converge_timeout:g} s"
        return checkers.Result(
            "order_integrity", checkers.UNKNOWN, {"replication": lag}, f"no final read: {why}"
        )

    if writers_of(topology) == "multi-writer":
        return each_writer(topology, lambda conn: final_read.orders(run, conn), "order_integrity")

    def read() -> checkers.Result:
        with connect(topology, load_credentials(topology), dbname="shop", timeout=5) as conn:
            return final_read.orders(run, conn)

    return retrying(read, "the final read of the orders table")


def _caught_up(topology: Topology, converge_timeout: float) -> dict[str, Any]:
    """`replication_lag`, retried while a node refuses connections (a replica rejoining after
    a failback restarts its PostgreSQL), up to `converge_timeout`; the error once it is spent."""
    deadline = time.monotonic() + converge_timeout
    while True:
        left = max(1.0, deadline - time.monotonic())
        try:
            return replication_lag(topology, left)
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                first = str(exc).strip().splitlines()[0]
                return {"max": None, "error": f"a node could not be read: {first}"}
            time.sleep(1.0)


def inventory_policy(topology: Topology) -> str:
    """`lww`, `min` or `delta`: the stock design the sandbox booted with."""
    return str(options_of(topology).get("inventory") or "lww")


def each_region(topology: Topology, read: Callable[[psycopg.Connection[Any]], T]) -> dict[str, T]:
    """region -> `read` of the region's own shop database (its primary on multi-writer; the
    leader and the replica, each read directly, on the single writer).

    Transient errors are retried as every final read's are (`retrying`); any other
    database error means the region could not be looked at: EvidenceMissing.
    """
    creds = load_credentials(topology)
    found = {}
    for region in REGIONS:

        def once(region: str = region) -> T:
            try:
                with connect_node(topology, region, creds, DATABASE, timeout=5) as conn:
                    return read(conn)
            except psycopg.OperationalError:
                raise  # retried until the deadline
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise EvidenceMissing(f"could not read {region}'s database: {first}") from exc

        found[region] = retrying(once, f"the final read of {region}'s database")
    return found


def each_writer(
    topology: Topology, judge: Callable[[psycopg.Connection[Any]], checkers.Result], name: str
) -> checkers.Result:
    """Multi-writer: `judge` each region's primary; valid only where every region is.

    Each region's verdict is kept under `regions`; list-valued categories
    (lost keys, oversold products) are merged at the top, so the probes'
    readers find them where the single writer puts them.
    """
    found = each_region(topology, judge)
    merged: dict[str, Any] = {"regions": {r: v.as_dict() for r, v in found.items()}}
    for result in found.values():
        for key, value in result.details.items():
            if isinstance(value, list):
                merged.setdefault(key, [])
                merged[key] += [v for v in value if v not in merged[key]]
            elif isinstance(value, int) and not isinstance(value, bool):
                merged[key] = max(merged.get(key, 0), value)
    reasons = "; ".join(f"{r}: {v.reason}" for r, v in found.items())
    if any(v.valid is False for v in found.values()):
        return checkers.Result(name, False, merged, reasons)
    if any(v.valid == checkers.UNKNOWN for v in found.values()):
        return checkers.Result(name, checkers.UNKNOWN, merged, reasons)
    return checkers.Result(name, True, merged, reasons)


def no_oversell(topology: Topology) -> checkers.Result:
    """`checkers.inventory` over the stock rows: the leader's, or each writer's own."""
    if writers_of(topology) != "multi-writer":
        return checkers.inventory(stock_rows(topology))
    if inventory_policy(topology) == "delta":
        judge = lambda conn: checkers.inventory(final_read.stock_rows(conn, "", "", DELTA_STOCK))  # noqa: E731
    else:
        judge = lambda conn: checkers.inventory(final_read.stock_rows(conn, "", ""))  # noqa: E731
    return each_writer(topology, judge, "no_oversell")


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
