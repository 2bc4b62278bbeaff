"""pglogical between the two writers: nodes, replication sets, subscriptions both ways.

As ADR-037 describes it and the prototype built it: every shop table in
the `default` replication set (the outbox stays regional: each region's
relay publishes its own rows), one subscription in each direction with
``forward_origins := '{}'`` so a change never travels back to where it
came from, no initial copy (both sides are seeded identically at boot).
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from aftershock.config.topology import PG_PORT, REGIONS, Topology, other_region
from aftershock.sandbox.credentials import Credentials
from aftershock.sandbox.endpoints import connect_node
from aftershock.sandbox.shop.schema import DATABASE

REGIONAL_TABLES = ("outbox",)
"""Tables that never leave their region."""

MIN_STOCK_TRIGGER = """
CREATE OR REPLACE FUNCTION keep_min_stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- ADR-037's "inventory conflicts take the minimum", on the apply side.
    IF NEW.stock > OLD.stock THEN
        NEW.stock := OLD.stock;
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS products_keep_min_stock ON products;
CREATE TRIGGER products_keep_min_stock BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION keep_min_stock();
-- REPLICA: fires only where pglogical applies a change, never for the shop's own writes.
ALTER TABLE products ENABLE REPLICA TRIGGER products_keep_min_stock;
"""


def subscription_name(region: str) -> str:
    """The subscription in `region` that pulls the other region's changes."""
    return f"from_{other_region(region)}"


def node_dsn(topology: Topology, region: str, creds: Credentials) -> str:
    """How pglogical (and the harness) reaches the region's shop database."""
    return (
        f"host={topology.address(region)} port={PG_PORT} dbname={DATABASE} "
        f"user=postgres password={creds.postgres} connect_timeout=2"
    )


def connect_writer(
    topology: Topology, region: str, creds: Credentials, timeout: float = 3.0
) -> psycopg.Connection[Any]:
    """A superuser connection to the region's shop database (autocommit)."""
    return connect_node(topology, region, creds, DATABASE, timeout)


def create_nodes(topology: Topology, creds: Credentials, min_stock: bool) -> None:
    """Make each region's database a pglogical node publishing every shop table."""
    for region in REGIONS:
        with connect_writer(topology, region, creds) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pglogical")
            conn.execute(
                "SELECT pglogical.create_node(node_name := %s, dsn := %s)",
                (region, node_dsn(topology, region, creds)),
            )
            conn.execute("SELECT pglogical.replication_set_add_all_tables('default', '{public}')")
            for table in REGIONAL_TABLES:
                conn.execute(
                    "SELECT pglogical.replication_set_remove_table('default', %s)", (table,)
                )
            if min_stock:
                conn.execute(MIN_STOCK_TRIGGER)


def subscribe(topology: Topology, creds: Credentials) -> None:
    """One subscription in each region to the other, no loops, no initial copy."""
    for region in REGIONS:
        with connect_writer(topology, region, creds) as conn:
            conn.execute(
                """
                SELECT pglogical.create_subscription(
                    subscription_name := %s,
                    provider_dsn := %s,
                    replication_sets := '{default}',
                    synchronize_structure := false,
                    synchronize_data := false,
                    forward_origins := '{}')
                """,
                (subscription_name(region), node_dsn(topology, other_region(region), creds)),
            )


def subscription_status(topology: Topology, creds: Credentials) -> dict[str, dict[str, Any]]:
    """Each region's subscription as pglogical reports it: status, provider, sets.

    A region that does not answer is listed with `status: unreachable` and the reason.
    """
    found: dict[str, dict[str, Any]] = {}
    for region in REGIONS:
        name = subscription_name(region)
        try:
            with connect_writer(topology, region, creds, timeout=2) as conn:
                row = conn.execute(
                    "SELECT status, provider_node, forward_origins"
                    " FROM pglogical.show_subscription_status(%s)",
                    (name,),
                ).fetchone()
        except psycopg.Error as exc:
            found[region] = {"subscription": name, "status": "unreachable", "error": _first(exc)}
            continue
        status, provider, origins = row if row else ("missing", None, None)
        found[region] = {
            "subscription": name,
            "status": status,
            "provider": provider,
            "forward_origins": list(origins or []),
        }
    return found


def replicating(topology: Topology, creds: Credentials) -> bool:
    """True when both subscriptions say `replicating`."""
    return all(s["status"] == "replicating" for s in subscription_status(topology, creds).values())


def mark_lag(
    topology: Topology, creds: Credentials, source: str, timeout: float = 5.0
) -> dict[str, Any]:
    """Seconds until a row committed in `source` is readable in the other region.

    A real cross-region write: `source`'s row in `replication_marks` gets
    a new sequence number, and the other writer is read until it holds it
    (capped at `timeout`; then `capped` is true and the figure a lower bound).
    """
    target = other_region(source)
    try:
        with (
            connect_writer(topology, source, creds, timeout) as writer,
            connect_writer(topology, target, creds, timeout) as reader,
        ):
            row = writer.execute(
                """
                INSERT INTO replication_marks (region, seq, written_at)
                VALUES (%s, 1, clock_timestamp())
                ON CONFLICT (region) DO UPDATE
                    SET seq = replication_marks.seq + 1, written_at = clock_timestamp()
                RETURNING seq
                """,
                (source,),
            ).fetchone()
            assert row is not None
            written_at, written = time.time(), time.monotonic()
            while True:
                seen = reader.execute(
                    "SELECT seq FROM replication_marks WHERE region = %s", (source,)
                ).fetchone()
                elapsed = time.monotonic() - written
                crossed = bool(seen and seen[0] >= row[0])
                if crossed or elapsed >= timeout:
                    return {"from": source, "to": target, "seconds": round(elapsed, 4),
                            "capped": not crossed,
                            "written_at": round(written_at, 4)}  # fmt: skip
                time.sleep(0.005)
    except psycopg.Error as exc:
        return {"from": source, "to": target, "seconds": None, "capped": True, "error": _first(exc)}


def crossed(topology: Topology, creds: Credentials, source: str, timeout: float) -> bool:
    """True when a row written in `source` now reaches the other region within `timeout`."""
    return not mark_lag(topology, creds, source, timeout)["capped"]


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
