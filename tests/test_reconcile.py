"""Final reads against a real orders table, broken on purpose: lost, duplicated, unacknowledged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from aftershock.check.reconcile import reconcile
from aftershock.config.topology import Topology
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.state import load_credentials

pytestmark = pytest.mark.sandbox

UNIQUE = "orders_idempotency_key_key"


@pytest.fixture
def shop_db(whole_sandbox: Topology) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A superuser connection to the shop database and a fresh key prefix, cleaned after."""
    prefix = f"rec-{uuid.uuid4().hex[:8]}-"
    creds = load_credentials(whole_sandbox)
    with connect(whole_sandbox, creds, dbname="shop", timeout=10) as conn:
        try:
            yield conn, prefix
        finally:
            conn.execute("DELETE FROM orders WHERE idempotency_key LIKE %s", (prefix + "%",))
            present = conn.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = %s", (UNIQUE,)
            ).fetchone()
            if not present:
                conn.execute(f"ALTER TABLE orders ADD CONSTRAINT {UNIQUE} UNIQUE (idempotency_key)")


def place(conn: psycopg.Connection[Any], keys: list[str]) -> list[tuple[str, int]]:
    rows = conn.execute(
        "INSERT INTO orders (idempotency_key, fingerprint, region)"
        " SELECT k, 'test', 'taiwan' FROM unnest(%s::text[]) AS k RETURNING idempotency_key, id",
        (keys,),
    ).fetchall()
    return [(key, int(order_id)) for key, order_id in rows]


def test_an_intact_table_reconciles_clean(shop_db: tuple[psycopg.Connection[Any], str]) -> None:
    conn, prefix = shop_db
    acked = place(conn, [f"{prefix}{n}" for n in range(50)])
    result = reconcile(conn, acked, prefix)
    assert (result.acknowledged, result.held) == (50, 50)
    assert result.lost == result.duplicated == result.unacknowledged == []


def test_deleted_orders_are_exactly_the_lost_ones(
    shop_db: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, prefix = shop_db
    acked = place(conn, [f"{prefix}{n:02d}" for n in range(50)])
    gone = sorted(key for key, _ in acked[::17])
    conn.execute("DELETE FROM orders WHERE idempotency_key = ANY(%s)", (gone,))
    assert reconcile(conn, acked, prefix).lost == gone


def test_an_order_id_that_changed_counts_as_lost(
    shop_db: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, prefix = shop_db
    (key, order_id), *_ = place(conn, [f"{prefix}a"])
    assert reconcile(conn, [(key, order_id + 10_000_000)], prefix).lost == [key]


def test_two_orders_under_one_key_are_duplicated_once_the_constraint_is_gone(
    shop_db: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, prefix = shop_db
    conn.execute(f"ALTER TABLE orders DROP CONSTRAINT {UNIQUE}")
    acked = place(conn, [f"{prefix}dup"])
    place(conn, [f"{prefix}dup"])
    result = reconcile(conn, acked, prefix)
    assert result.duplicated == [f"{prefix}dup"]


def test_an_order_nobody_acknowledged_is_reported(
    shop_db: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, prefix = shop_db
    acked = place(conn, [f"{prefix}told"])
    stray = place(conn, [f"{prefix}stray"])
    assert reconcile(conn, acked, prefix).unacknowledged == stray


def test_the_prefix_is_literal_not_a_pattern(shop_db: tuple[psycopg.Connection[Any], str]) -> None:
    conn, prefix = shop_db
    place(conn, [f"{prefix}x_1"])
    other = place(conn, [f"{prefix}xa1"])
    assert reconcile(conn, other, f"{prefix}x_").held == 1


def test_keys_with_copy_escapes_round_trip(shop_db: tuple[psycopg.Connection[Any], str]) -> None:
    conn, prefix = shop_db
    acked = place(conn, [f"{prefix}back\\slash", f"{prefix}tab\there"])
    result = reconcile(conn, acked, prefix)
    assert result.lost == []
    assert result.held == 2
