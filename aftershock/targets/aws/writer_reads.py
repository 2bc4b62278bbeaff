"""ADR-037 on a remote target: the two regional writers' final reads, over SQL.

Aurora PostgreSQL supports pglogical, so ADR-037's pair can run there:
the target file names each region's writer endpoint (`database.writers`)
and the same reads and checkers as the sandbox's run against both
(`aftershock.check.regional_judge`). A dry run records each read as a
`sql` call per writer and touches nothing. The password comes from the
variable each endpoint names; it is never logged, returned or written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from aftershock.check import checkers, convergence, regional_judge, regional_read
from aftershock.config.budgets import budgets
from aftershock.config.target_file import Sql
from aftershock.errors import EvidenceMissing, SandboxError
from aftershock.load import history
from aftershock.load.runs import Run
from aftershock.targets.aws.sql_reads import connect
from aftershock.targets.plan import Call
from aftershock.targets.remote import Context

DRY = {"valid": checkers.UNKNOWN, "reason": "dry run: nothing read"}
POLL_S = 2.0


def _writers(ctx: Context, probe: str) -> dict[str, Sql]:
    if len(ctx.target.writers) < 2:
        raise SandboxError(
            f"probe {probe} needs ADR-037's two writers: add database.writers.taiwan and "
            f".tokyo (host, user, password_env) to {ctx.target.path}"
        )
    return ctx.target.writers


def _plan(ctx: Context, probe: str, what: str, query: str) -> dict[str, Sql]:
    writers = _writers(ctx, probe)
    for region, sql in writers.items():
        where = f"{sql.host}:{sql.port}/{sql.dbname}"
        ctx.log.add(Call("sql", where, f"{what} ({region})", {"user": sql.user, "query": query}))
    return writers


def _each(writers: dict[str, Sql]) -> regional_judge.Each:
    def each(read: Callable[[psycopg.Connection[Any]], Any]) -> dict[str, Any]:
        found = {}
        for region, sql in writers.items():
            try:
                with connect(sql) as conn:
                    found[region] = read(conn)
            except psycopg.Error as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
                raise EvidenceMissing(
                    f"could not read {region}'s writer {sql.host}: {first}"
                ) from exc
        return found

    return each


def converged(
    ctx: Context,
    run: Run | None = None,
    heal_at: float = 0.0,
    wait_s: float = 330.0,
    fault: str = "partition_regions",
) -> dict[str, Any]:
    """Both writers hold the same rows; the time is when they first did after the heal.

    Read-only (no marker writes on production): both writers' tables are
    compared every 2 s from now until they agree or `wait_s` after the
    heal, so the figure is an upper bound (`at_most`).
    """
    writers = _plan(ctx, "converged", "replicated tables, row by row", "regional_read.TABLES")
    if ctx.dry_run or run is None:
        return DRY
    each = _each(writers)
    target_s = budgets(ctx.target.configuration()).promise_convergence_s
    while True:
        result = convergence.convergence(
            each(regional_read.tables), ctx.clock() - heal_at, target_s
        )
        if result.details["differing"] == {} or ctx.clock() >= heal_at + wait_s:
            break
        ctx.sleep(POLL_S)
    if result.details["differing"]:
        result = convergence.convergence(each(regional_read.tables), None, target_s, True)
    return {**result.as_dict(), "heal_at": heal_at, "at_most": True}


def replication_held_back(ctx: Context, since: float = 0.0, fault: str = "") -> dict[str, Any]:
    """While the cut holds, no order a writer placed since it is on the other writer."""
    writers = _plan(ctx, "replication_held_back", "every order each region placed since the cut",
                    "regional_read.placed_since, then regional_read.held")  # fmt: skip
    if ctx.dry_run:
        return DRY
    return regional_judge.replication_held_back(_each(writers), since).as_dict()


def stock_conserved(ctx: Context, run: Run | None = None) -> dict[str, Any]:
    """stocked = left + sold on both writers (ADR-037's `min` or `lww` stock row)."""
    writers = _plan(ctx, "stock_conserved", "stock and order lines", "regional_read.STOCK")
    if ctx.dry_run or run is None:
        return DRY
    records = history.read(run.path / history.HISTORY_FILE).records
    inventory = ctx.target.inventory
    result = regional_judge.stock_conserved(_each(writers), inventory, records)
    return {**result.as_dict(), "inventory": inventory}


def orders_across_regions(ctx: Context, run: Run | None = None) -> dict[str, Any]:
    """Jepsen's set check on both writers, and no key acknowledged twice."""
    writers = _plan(
        ctx, "orders_across_regions", "orders of the run", "keys and ids with the run's prefix"
    )
    if ctx.dry_run or run is None:
        return DRY
    found = history.read(run.path / history.HISTORY_FILE)
    resubmits = history.read(run.path / history.RESUBMITS_FILE).records
    return regional_judge.orders_across_regions(_each(writers), found, resubmits, run.key_prefix)


def lost_updates(ctx: Context, run: Run | None = None) -> dict[str, Any]:
    """Acknowledged profile writes against both writers' final values."""
    writers = _plan(ctx, "lost_updates", "profiles of the run", "customer, value")
    if ctx.dry_run or run is None:
        return DRY
    records = history.read(run.path / history.PROFILES_FILE).records
    return regional_judge.lost_updates(_each(writers), records, run.key_prefix).as_dict()
