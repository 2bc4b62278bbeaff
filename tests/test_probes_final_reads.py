"""Final-read probes on a real sandbox: order integrity and no oversell, healthy and broken.

The database is broken on purpose (orders deleted, the unique key dropped,
an order nobody placed, the stock check dropped) and the probe must name
exactly what was done; each test puts the table back as it found it.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from aws_stubs import EXAMPLE, FakeAws, expect_global, lag_query
from loads import fast_load, locust_running

from aftershock.check.checkers import UNKNOWN
from aftershock.config.target_file import load
from aftershock.config.topology import Topology
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.runner import find_run, registry_path
from aftershock.sandbox.endpoints import connect, postgres_endpoints
from aftershock.sandbox.state import load_credentials
from aftershock.targets import drivers
from aftershock.targets.aws import sql_reads
from aftershock.targets.local import database
from probes import inventory, orders

pytestmark = pytest.mark.sandbox


def config(topology: Topology) -> dict[str, str]:
    return {"aftershock_sandbox": topology.name, "aftershock_state_root": str(topology.state_root)}


@pytest.fixture(scope="module")
def finished_run(shared_sandbox: Topology, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short load run against the sandbox, ended, with its orders in the table."""
    settings = fast_load(shared_sandbox, tmp_path_factory.mktemp("final") / "run", duration=6.0)
    registry = registry_path(shared_sandbox.state_root, shared_sandbox.name)
    with locust_running(settings, registry) as (_, process):
        assert process.wait(timeout=60) == 0
    return settings.run_dir


@contextlib.contextmanager
def shop_db(topology: Topology) -> Iterator[psycopg.Connection[Any]]:
    with connect(topology, load_credentials(topology), dbname="shop") as conn:
        yield conn


def acknowledged(run_dir: Path, count: int) -> list[tuple[str, int]]:
    shape = history.operations(history.read(run_dir / history.HISTORY_FILE).records)
    pairs = sorted(history.acknowledged(shape))
    assert len(pairs) >= count, f"the run acknowledged only {len(pairs)} orders"
    return pairs[:count]


def test_an_untouched_run_is_valid(whole_sandbox: Topology, finished_run: Path) -> None:
    result = orders.integrity(configuration=config(whole_sandbox))  # the newest run, by default
    assert result["valid"] is True, result
    assert result["acknowledged"] > 10
    assert result["run_dir"] == str(finished_run.resolve())


def test_deleted_acknowledged_orders_are_exactly_the_lost_ones(
    whole_sandbox: Topology, finished_run: Path
) -> None:
    victims = acknowledged(finished_run, 3)
    ids = [order_id for _, order_id in victims]
    with shop_db(whole_sandbox) as conn:
        saved = conn.execute("SELECT * FROM orders WHERE id = ANY(%s)", (ids,)).fetchall()
        lines = conn.execute(
            "SELECT * FROM order_lines WHERE order_id = ANY(%s)", (ids,)
        ).fetchall()
        conn.execute("DELETE FROM order_lines WHERE order_id = ANY(%s)", (ids,))
        conn.execute("DELETE FROM orders WHERE id = ANY(%s)", (ids,))
        try:
            result = orders.integrity(str(finished_run), configuration=config(whole_sandbox))
        finally:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s, %s)", saved)
                cur.executemany("INSERT INTO order_lines VALUES (%s, %s, %s, %s)", lines)
    assert result["valid"] is False
    assert result["lost"] == sorted(key for key, _ in victims)
    assert result["duplicated"] == result["unexpected"] == []


def test_two_orders_under_one_key_are_duplicated_once_the_unique_key_is_dropped(
    whole_sandbox: Topology, finished_run: Path
) -> None:
    [(key, _)] = acknowledged(finished_run, 1)
    with shop_db(whole_sandbox) as conn:
        conn.execute("ALTER TABLE orders DROP CONSTRAINT orders_idempotency_key_key")
        try:
            conn.execute(
                "INSERT INTO orders (idempotency_key, fingerprint, region)"
                " VALUES (%s, 'second', 'tokyo')",
                (key,),
            )
            result = orders.integrity(str(finished_run), configuration=config(whole_sandbox))
        finally:
            conn.execute(
                "DELETE FROM orders WHERE idempotency_key = %s AND fingerprint = 'second'", (key,)
            )
            conn.execute(
                "ALTER TABLE orders ADD CONSTRAINT orders_idempotency_key_key"
                " UNIQUE (idempotency_key)"
            )
    assert result["valid"] is False
    assert result["duplicated"] == [key]
    assert result["lost"] == []


def test_an_order_no_client_invoked_is_unexpected(
    whole_sandbox: Topology, finished_run: Path
) -> None:
    run_id = acknowledged(finished_run, 1)[0][0].split("-")[0]
    stray = f"{run_id}-{uuid.uuid4().hex}"
    with shop_db(whole_sandbox) as conn:
        conn.execute(
            "INSERT INTO orders (idempotency_key, fingerprint, region) VALUES (%s, 'x', 'taiwan')",
            (stray,),
        )
        try:
            result = orders.integrity(str(finished_run), configuration=config(whole_sandbox))
        finally:
            conn.execute("DELETE FROM orders WHERE idempotency_key = %s", (stray,))
    assert result["valid"] is False
    assert result["unexpected"] == [stray]


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_history_is_unknown_never_valid(
    whole_sandbox: Topology, finished_run: Path, tmp_path: Path, damage: str
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    path = copy / history.HISTORY_FILE
    lines = path.read_text().splitlines(keepends=True)
    if damage == "truncated":
        path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    else:
        path.write_text("".join(lines[:5]) + '{"type": "ok", "process":\n' + "".join(lines[5:]))
    result = orders.integrity(str(copy), configuration=config(whole_sandbox))
    assert result["valid"] == UNKNOWN, result
    assert "malformed or torn" in result["reason"]


def test_no_final_read_while_a_replica_lags(whole_sandbox: Topology, finished_run: Path) -> None:
    database.pause_replication_replay(whole_sandbox, "tokyo")
    try:
        result = orders.integrity(
            str(finished_run), converge_timeout=1.0, configuration=config(whole_sandbox)
        )
    finally:
        database.resume_replication_replay(whole_sandbox, "tokyo")
    assert result["valid"] == UNKNOWN
    assert "tokyo not caught up" in result["reason"]


def test_integrity_refuses_a_run_that_is_still_going(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    settings = fast_load(whole_sandbox, tmp_path / "run", duration=30.0)
    registry = registry_path(whole_sandbox.state_root, whole_sandbox.name)
    with (
        locust_running(settings, registry),
        pytest.raises(EvidenceMissing, match="still runs: stop it"),
    ):
        orders.integrity(configuration=config(whole_sandbox))


def test_no_oversell_holds_then_catches_the_sale_the_dropped_stock_check_let_through(
    whole_sandbox: Topology,
) -> None:
    healthy = inventory.no_oversell(config(whole_sandbox))
    assert healthy["valid"] is True, healthy
    with shop_db(whole_sandbox) as conn:
        product = conn.execute(
            "INSERT INTO products (id, name, price_cents, stock, stocked)"
            " SELECT coalesce(max(id), 0) + 1, 'two left', 500, 2, 2 FROM products RETURNING id"
        ).fetchone()[0]
        conn.execute("ALTER TABLE products DROP CONSTRAINT products_stock_check")
        try:
            statuses = [buy(whole_sandbox, product) for _ in range(5)]
            broken = inventory.no_oversell(config(whole_sandbox))
        finally:
            sold = conn.execute(
                "DELETE FROM order_lines WHERE product_id = %s RETURNING order_id", (product,)
            ).fetchall()
            conn.execute("DELETE FROM orders WHERE id = ANY(%s)", ([i for (i,) in sold],))
            conn.execute("DELETE FROM products WHERE id = %s", (product,))
            conn.execute(
                "ALTER TABLE products ADD CONSTRAINT products_stock_check CHECK (stock >= 0)"
            )
    assert statuses == [201] * 5
    assert broken["valid"] is False
    assert broken["oversold"] == [{"product": product, "stocked": 2, "left": -3, "sold": 5}]


def buy(topology: Topology, product: int) -> int:
    response = httpx.post(
        f"{topology.edge_url}/orders",
        json={"items": [{"product_id": product, "quantity": 1}]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    return response.status_code


def test_the_aws_final_reads_are_the_same_reads_over_sql(
    whole_sandbox: Topology, finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Aurora speaks PostgreSQL: the aws driver's reads, pointed at the sandbox's write endpoint.

    CloudWatch (whether Aurora's secondaries caught up) is a Stubber; the
    SQL is real. The verdicts must equal the local probes' own.
    """
    host, port = postgres_endpoints(whole_sandbox)["write"]
    described = yaml.safe_load(EXAMPLE.read_text())
    described["database"]["sql"] = {
        "host": host,
        "port": port,
        "dbname": "shop",
        "user": "postgres",
        "password_env": "AFTERSHOCK_TEST_DB",
        "sslmode": "disable",
    }
    path = tmp_path / "sandbox-as-aurora.yaml"
    path.write_text(yaml.safe_dump(described))
    monkeypatch.setenv("AFTERSHOCK_TEST_DB", load_credentials(whole_sandbox).postgres)
    aws = FakeAws()
    ctx = drivers.build(
        config(whole_sandbox),
        "aws",
        aws_factory=aws.client,
        credentials=lambda profile: True,
        target=load(path),
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ctx.clock, ctx.sleep = now.timestamp, lambda seconds: None

    def aurora_lag(ms: float) -> None:
        expect_global(aws)
        points = [{"Timestamp": now - timedelta(minutes=1), "Maximum": ms}]
        query = lag_query(now)
        aws.expect(
            "cloudwatch", "ap-northeast-1", "get_metric_statistics", query, {"Datapoints": points}
        )

    aurora_lag(5.0)
    remote = sql_reads.integrity(ctx, run=find_run(whole_sandbox, str(finished_run)))
    local = orders.integrity(run_dir=str(finished_run), configuration=config(whole_sandbox))
    assert remote["valid"] is True, remote
    assert remote["acknowledged"] == local["acknowledged"] > 10
    assert sql_reads.no_oversell(ctx) == inventory.no_oversell(configuration=config(whole_sandbox))
    aurora_lag(4000.0)  # a secondary 4 s behind: no final read, and no pass
    lagging = sql_reads.integrity(
        ctx, run=find_run(whole_sandbox, str(finished_run)), converge_timeout=0
    )
    assert lagging["valid"] == UNKNOWN
    assert "Aurora's global replication lag is under 1 s" in lagging["reason"]
    aws.done()
