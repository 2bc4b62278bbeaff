"""The shop's database: role, schema and seeded catalog, created at `sandbox up`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE = "shop"
ROLE = "shop"

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "services" / "shop" / "schema.sql"
"""The tables: the one file the shop's service contract applies (`schema.apply`)."""

ALLOTMENT_SHARE = {"taiwan": 0.6, "tokyo": 0.4}
"""How a product's stock is split between the regions' allotments: the traffic split."""


def create(admin: psycopg.Connection[Any], password: str) -> None:
    """Create the shop role and database (idempotent), owned by the role."""
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    admin.execute(
        sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(ROLE), sql.Literal(password)
        )
    )
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(ROLE)
            )
        )


def seed(
    conn: psycopg.Connection[Any],
    products: int,
    stock: int,
    writer: tuple[int, int] = (0, 1),
) -> None:
    """Create the tables (if absent) and a catalog of `products` items with `stock` each.

    `writer` is (this database's index, number of writers): with two
    writers, each one's sequences hand out ids the other never will.
    """
    with conn.transaction():
        present = conn.execute("SELECT to_regclass('products') IS NOT NULL").fetchone()
        if present and present[0]:
            return
        conn.execute(SCHEMA_FILE.read_text(encoding="utf-8"))
        conn.execute(
            """
            INSERT INTO products (id, name, price_cents, stock, stocked)
            SELECT i, 'product ' || i, 100 + (i * 37) %% 9900, %s, %s
            FROM generate_series(1, %s) AS i
            """,
            (stock, stock, products),
        )
        first = round(stock * ALLOTMENT_SHARE["taiwan"])
        conn.execute(
            """
            INSERT INTO stock_allotments (product_id, region, allotted)
            SELECT id, r.region, CASE r.region WHEN 'taiwan' THEN %s ELSE %s END
            FROM products, (VALUES ('taiwan'), ('tokyo')) AS r (region)
            """,
            (first, stock - first),
        )
        index, writers = writer
        if writers > 1:
            for sequence in ("orders_id_seq", "outbox_id_seq"):
                conn.execute(
                    sql.SQL("ALTER SEQUENCE {} INCREMENT BY {} RESTART WITH {}").format(
                        sql.Identifier(sequence), sql.Literal(writers), sql.Literal(index + 1)
                    )
                )
