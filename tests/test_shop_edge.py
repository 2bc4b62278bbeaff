"""The shop and the edge keep the platform's promises, and say so through real HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from aftershock.config.topology import Topology
from aftershock.sandbox import haproxy, postgres
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.processes import is_alive
from aftershock.sandbox.state import load_credentials, registry
from aftershock.targets.local import ledger
from aftershock.targets.local.service import kill_shop, start_shop

pytestmark = pytest.mark.sandbox

ORDER = {"items": [{"product_id": 1, "quantity": 1}]}


def _served_by(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(r.headers["x-served-by"] for r in responses)


def _wait(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not true after {timeout} s"
        time.sleep(0.05)


def _edge_state(topology: Topology, region: str) -> str | None:
    return haproxy.server_states(topology).get((f"shop-{region}", region))


async def _many(url: str, count: int, concurrency: int, headers: dict[str, str]) -> list[Any]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> httpx.Response:
            async with gate:
                return await client.get(url, headers=headers)

        return await asyncio.gather(*(one() for _ in range(count)))


def test_geo_header_routes_to_its_region(shared_sandbox: Topology) -> None:
    with httpx.Client(base_url=shared_sandbox.edge_url, timeout=5) as client:
        tw = [client.get("/products/1", headers={"X-Geo": "TW"}) for _ in range(20)]
        jp = [client.get("/products/1", headers={"X-Geo": "jp"}) for _ in range(20)]
    assert _served_by(tw) == {"taiwan": 20}
    assert _served_by(jp) == {"tokyo": 20}


def test_traffic_without_geo_is_split_60_40_over_3000_requests(
    shared_sandbox: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    # HAProxy's weighted round robin is exact over every 5 requests; 3000 are plenty.
    url = f"{shared_sandbox.edge_url}/health/liveness"
    responses = asyncio.run(_many(url, 3_000, 32, {}))
    assert all(r.status_code == 200 for r in responses)
    share = _served_by(responses)["taiwan"] / len(responses)
    with capsys.disabled():
        print(f"\n[measured] taiwan share over 3,000 requests: {share:.2%}")
    assert 0.57 <= share <= 0.63


def test_a_stopped_shop_drains_to_the_other_region_and_comes_back(
    shared_sandbox: Topology,
) -> None:
    kill_shop(shared_sandbox, "taiwan")
    try:
        _wait(lambda: _edge_state(shared_sandbox, "taiwan") == "DOWN")
        with httpx.Client(base_url=shared_sandbox.edge_url, timeout=5) as client:
            default = [client.get("/health/liveness") for _ in range(100)]
            tw = [client.get("/health/liveness", headers={"X-Geo": "TW"}) for _ in range(20)]
        assert all(r.status_code == 200 for r in default + tw)
        assert _served_by(default) == {"tokyo": 100}
        assert _served_by(tw) == {"tokyo": 20}
    finally:
        start_shop(shared_sandbox, "taiwan")
    _wait(lambda: _edge_state(shared_sandbox, "taiwan") == "UP")
    with httpx.Client(base_url=shared_sandbox.edge_url, timeout=5) as client:
        again = [client.get("/health/liveness") for _ in range(100)]
    assert _served_by(again)["taiwan"] >= 50
    assert ledger(shared_sandbox).entries() == []


def test_the_same_key_twice_gives_one_order(shared_sandbox: Topology) -> None:
    key = uuid.uuid4().hex
    with httpx.Client(base_url=shared_sandbox.edge_url, timeout=10) as client:
        first = client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
        second = client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
        different = client.post(
            "/orders",
            json={"items": [{"product_id": 2, "quantity": 1}]},
            headers={"Idempotency-Key": key},
        )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["order_id"] == second.json()["order_id"]
    assert different.status_code == 422
    assert different.json()["error"] == "idempotency_key_reused"
    assert _orders_with_key(shared_sandbox, key) == 1


def test_the_same_key_from_ten_concurrent_clients_gives_one_order(
    shared_sandbox: Topology,
) -> None:
    key = uuid.uuid4().hex

    async def ten() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=shared_sandbox.edge_url, timeout=10) as client:
            return await asyncio.gather(
                *(
                    client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
                    for _ in range(10)
                )
            )

    responses = asyncio.run(ten())
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert _orders_with_key(shared_sandbox, key) == 1


def test_fifty_checkouts_for_the_last_ten_units_sell_exactly_ten(
    shared_sandbox: Topology,
) -> None:
    product = _product_with_stock(shared_sandbox, 10)

    async def fifty() -> list[httpx.Response]:
        body = {"items": [{"product_id": product, "quantity": 1}]}
        async with httpx.AsyncClient(base_url=shared_sandbox.edge_url, timeout=15) as client:
            return await asyncio.gather(
                *(
                    client.post("/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
                    for _ in range(50)
                )
            )

    statuses = Counter(r.status_code for r in asyncio.run(fifty()))
    assert statuses == {201: 10, 409: 40}
    creds = load_credentials(shared_sandbox)
    with connect(shared_sandbox, creds, dbname="shop") as conn:
        stock = conn.execute("SELECT stock FROM products WHERE id = %s", (product,)).fetchone()
        sold = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE product_id = %s", (product,)
        ).fetchone()
    assert (stock[0], sold[0]) == (0, 10)


BAD_REQUESTS = [
    ("malformed JSON", "POST", "/orders", b"{not json", {"Idempotency-Key": "bad-1"}, 400),
    ("missing key", "POST", "/orders", ORDER, {}, 400),
    ("unknown product", "POST", "/orders", {"items": [{"product_id": 99999999, "quantity": 1}]},
     {"Idempotency-Key": "bad-2"}, 422),
    ("zero quantity", "POST", "/orders", {"items": [{"product_id": 1, "quantity": 0}]},
     {"Idempotency-Key": "bad-3"}, 422),
    ("negative quantity", "POST", "/orders", {"items": [{"product_id": 1, "quantity": -2}]},
     {"Idempotency-Key": "bad-4"}, 422),
    ("quantity as text", "POST", "/orders", {"items": [{"product_id": 1, "quantity": "1"}]},
     {"Idempotency-Key": "bad-5"}, 422),
    ("no items", "POST", "/orders", {"items": []}, {"Idempotency-Key": "bad-6"}, 422),
    ("not an object", "POST", "/orders", [1, 2], {"Idempotency-Key": "bad-7"}, 422),
    ("oversized body", "POST", "/orders", b"[" + b"1," * 40000 + b"1]",
     {"Idempotency-Key": "bad-8"}, 413),
    ("unknown product page", "GET", "/products/99999999", None, {}, 404),
    ("product id not a number", "GET", "/products/abc", None, {}, 404),
    ("bad page size", "GET", "/products?limit=0", None, {}, 422),
    ("cart item for unknown product", "POST", "/carts/c1/items",
     {"product_id": 99999999, "quantity": 1}, {}, 404),
    ("cart item with zero quantity", "POST", "/carts/c1/items",
     {"product_id": 1, "quantity": 0}, {}, 422),
    ("unknown order", "GET", "/orders/999999999", None, {}, 404),
    ("unknown route", "GET", "/nowhere", None, {}, 404),
    ("wrong method", "DELETE", "/orders", None, {}, 405),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_input_gets_a_4xx_with_a_json_error(
    shared_sandbox: Topology, method: str, path: str, body: Any, headers: dict, status: int
) -> None:
    kwargs: dict[str, Any] = {"headers": headers}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    with httpx.Client(base_url=shared_sandbox.edge_region_url("taiwan"), timeout=10) as client:
        response = client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "message"}


def test_checkout_survives_a_patroni_failover_without_a_shop_restart(
    shared_sandbox: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = load_credentials(shared_sandbox)
    shops_before = {n: d for n, d in registry(shared_sandbox).load().items() if "shop" in n}
    acked: list[int] = []
    stop = threading.Event()
    failed_over = threading.Event()
    after_failover: list[int] = []

    def shopper() -> None:
        """A client that retries with the same key, as real clients do."""
        with httpx.Client(base_url=shared_sandbox.edge_url, timeout=15) as client:
            while not stop.is_set():
                key = uuid.uuid4().hex
                for _ in range(20):
                    try:
                        r = client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
                    except httpx.TransportError:
                        continue
                    if r.status_code in (200, 201):
                        acked.append(r.json()["order_id"])
                        if failed_over.is_set():
                            after_failover.append(r.json()["order_id"])
                        break
                    time.sleep(0.1)

    workers = [threading.Thread(target=shopper) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        _wait(lambda: len(acked) >= 20)
        status, message = postgres.request_leader_change(
            shared_sandbox, creds, "failover", candidate="tokyo"
        )
        assert status == 200, message
        _wait(lambda: postgres.leader(shared_sandbox) == "tokyo")
        failed_over.set()
        _wait(lambda: len(after_failover) >= 20)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    with connect(shared_sandbox, creds, dbname="shop") as conn:
        present = {
            row[0]
            for row in conn.execute("SELECT id FROM orders WHERE id = ANY(%s)", (acked,)).fetchall()
        }
    assert set(acked) - present == set(), "acknowledged orders are missing"
    for name, daemon in shops_before.items():
        assert is_alive(daemon.pid, daemon.starttime), f"{name} was restarted"
    with capsys.disabled():
        print(f"\n[measured] {len(acked)} orders acknowledged across a failover, none missing")
    # Put the leader back where the other tests expect it.
    _wait(lambda: postgres.role_check(shared_sandbox, "taiwan", "sync"))
    status, message = postgres.request_leader_change(
        shared_sandbox, creds, "switchover", candidate="taiwan", leader="tokyo"
    )
    assert status == 200, message
    _wait(lambda: postgres.leader(shared_sandbox) == "taiwan")
    _wait(lambda: postgres.role_check(shared_sandbox, "tokyo", "sync"))
    _wait(lambda: all(_edge_state(shared_sandbox, r) == "UP" for r in ("taiwan", "tokyo")))


def _orders_with_key(topology: Topology, key: str) -> int:
    with connect(topology, load_credentials(topology), dbname="shop") as conn:
        row = conn.execute("SELECT count(*) FROM orders WHERE idempotency_key = %s", (key,))
        return row.fetchone()[0]


def _product_with_stock(topology: Topology, stock: int) -> int:
    """A new product with exactly `stock` units, so the test owns all of it."""
    with connect(topology, load_credentials(topology), dbname="shop") as conn:
        row = conn.execute(
            "INSERT INTO products (id, name, price_cents, stock, stocked)"
            " SELECT coalesce(max(id), 0) + 1, 'last units', 999, %s, %s FROM products"
            " RETURNING id",
            (stock, stock),
        ).fetchone()
    return row[0]
