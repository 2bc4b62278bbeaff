"""Final reads on a remote target: the orders and stock tables of Aurora, over SQL.

The same reading as the sandbox's (`aftershock.check.final_read`) against the
target file's `database.sql` (the global writer endpoint), once Aurora's
global replication lag says the secondaries hold what the writer holds.
The password comes from the environment variable the target file names;
it is never logged, returned or written. A dry run records the read as a
`sql` call and touches nothing.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg

from aftershock.check import checkers, final_read
from aftershock.config.target_file import Sql
from aftershock.errors import SandboxError
from aftershock.load.runs import Run
from aftershock.targets.aws.observe import replication_lag
from aftershock.targets.plan import Call
from aftershock.targets.remote import Context

CONVERGED_S = 1.0  # Aurora's secondaries count as caught up below the platform's lag promise
CONNECT_TIMEOUT = 5


def _sql(ctx: Context, probe: str) -> Sql:
    if ctx.target.sql is None:
        raise SandboxError(
            f"probe {probe} needs SQL access: add database.sql (writer endpoint, user, "
            f"password_env) to {ctx.target.path}"
        )
    return ctx.target.sql


def connect(sql: Sql) -> psycopg.Connection[Any]:
    """A read connection to the writer endpoint; the password from `sql.password_env`."""
    password = os.environ.get(sql.password_env)
    if not password:
        raise SandboxError(
            f"set {sql.password_env} to the password of {sql.user} on {sql.host} "
            "(database.sql.password_env in the target file)"
        )
    return psycopg.connect(
        host=sql.host,
        port=sql.port,
        dbname=sql.dbname,
        user=sql.user,
        password=password,
        sslmode=sql.sslmode,
        connect_timeout=CONNECT_TIMEOUT,
        autocommit=True,
    )


def _log(ctx: Context, sql: Sql, what: str, query: str) -> None:
    where = f"{sql.host}:{sql.port}/{sql.dbname}"
    ctx.log.add(Call("sql", where, what, {"user": sql.user, "query": query}))


def integrity(
    ctx: Context, run: Run | None = None, converge_timeout: float = 30.0
) -> dict[str, Any]:
    """Jepsen's set check of the load `run` against Aurora's orders table.

    `run` is the load run the probe found (None in a dry run: nothing is read).

    Unknown (never true) when Aurora's global lag does not drop below 1 s
    within `converge_timeout`: an order only the writer holds can still be
    lost by a global failover.
    """
    sql = _sql(ctx, "integrity")
    if ctx.dry_run:
        run = None
    if run is not None:
        final_read.require_finished(run)
    lagging: dict[str, Any] = {}

    def caught_up() -> bool:
        lagging.update(replication_lag(ctx))
        return lagging.get("max") is not None and float(lagging["max"]) < CONVERGED_S

    try:
        ctx.wait("Aurora's global replication lag is under 1 s", caught_up, converge_timeout, 5)
    except SandboxError as exc:
        result = checkers.Result(
            "order_integrity", checkers.UNKNOWN, {"replication": lagging}, f"no final read: {exc}"
        )
    else:
        _log(
            ctx,
            sql,
            "final read of the orders table",
            "COPY the run's acknowledged keys; "
            "lost, duplicated and unexpected by set difference (aftershock.check.reconcile)",
        )
        if run is None:  # a dry run: planned, nothing read
            return {"valid": checkers.UNKNOWN, "reason": "dry run: nothing read"}
        with connect(sql) as conn:
            result = final_read.orders(run, conn)
    return {**result.as_dict(), "run_dir": str(run.path) if run else ""}


def no_oversell(ctx: Context) -> dict[str, Any]:
    """Units sold against units stocked and stock left, per product, read on the writer."""
    sql = _sql(ctx, "no_oversell")
    _log(ctx, sql, "stock read", "units stocked, left and sold per product (final_read.STOCK)")
    if ctx.dry_run:
        return {"valid": checkers.UNKNOWN, "reason": "dry run: nothing read"}
    with connect(sql) as conn:
        rows = final_read.stock_rows(conn, f"{sql.host}/{sql.dbname}")
    return checkers.inventory(rows).as_dict()
