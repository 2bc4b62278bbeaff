"""The journey client's contract, against a local HTTP server playing the shop's API.

The sandbox drills (tests/test_drill.py) run journeys against the real
shop; here the answers are chosen, to show each step is judged on what
came back and that an answer of the wrong shape fails its step with the
evidence instead of crashing the probe.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aftershock.load.journeys import journey

Answer = tuple[int, Any]


def shop(overrides: dict[str, Answer] | None = None) -> Callable[[str, str, dict], Answer]:
    """A shop that answers as the real one does, but for the (method path-prefix) overridden."""
    orders: dict[str, int] = {}

    def answer(method: str, path: str, headers: dict) -> Answer:
        for prefix, chosen in (overrides or {}).items():
            if f"{method} {path}".startswith(prefix):
                return chosen
        if path.startswith("/products?"):
            return 200, {"items": [{"id": 7, "name": "p", "price_cents": 1, "stock": 3}]}
        if path.startswith("/products/"):
            return 200, {"id": int(path.rsplit("/", 1)[1]), "stock": 3}
        if path.startswith("/carts/"):
            return 200, {"cart_id": "c", "items": {"7": 1}}
        if method == "POST" and path == "/orders":
            key = headers["Idempotency-Key"]
            first = key not in orders
            orders.setdefault(key, 40 + len(orders))
            return (201 if first else 200), {"order_id": orders[key]}
        if path.startswith("/orders/"):
            order = int(path.rsplit("/", 1)[1])
            return 200, {"order_id": order, "items": [{"product_id": 7, "quantity": 1}]}
        return 404, {"error": "not_found"}

    return answer


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[str, str, dict], Answer]], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[str, str, dict], Answer]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                status, body = answer(self.command, self.path, dict(self.headers))
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("X-Served-By", "tokyo")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _reply  # http.server dispatches on these names

            def log_message(self, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()


def steps_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["step"]: s for s in run["steps"]}


def test_a_whole_shop_passes_every_step_and_the_same_key_gives_the_same_order(serve: Any) -> None:
    run = journey(serve(shop()), "JP")
    steps = steps_of(run)
    assert list(steps) == ["browse", "product", "cart", "checkout", "read_back", "same_key"]
    assert all(s["ok"] for s in steps.values()), steps
    assert steps["checkout"]["status"] == 201
    assert steps["same_key"]["status"] == 200  # the replay: the same order, not a new one
    assert run["key"].endswith("@tokyo")  # scoped to the region that served the shopper
    assert all(s["region"] == "tokyo" for s in steps.values())


def test_a_replay_that_makes_a_second_order_fails_the_same_key_step(serve: Any) -> None:
    made = iter([(201, {"order_id": 1}), (201, {"order_id": 2})])
    answer = shop()

    def twice(method: str, path: str, headers: dict) -> Answer:
        if method == "POST" and path == "/orders":
            return next(made)
        if path.startswith("/orders/"):
            return 200, {"order_id": 1, "items": [{"product_id": 7, "quantity": 1}]}
        return answer(method, path, headers)

    run = journey(serve(twice), "TW")
    same = steps_of(run)["same_key"]
    assert same["ok"] is False
    assert "expected the same order 1" in same["evidence"]


@pytest.mark.parametrize(
    ("override", "step", "evidence"),
    [
        ({"GET /products?": (200, {"items": "many"})}, "browse", "no product with an id"),
        ({"POST /carts/": (200, {"items": ["7"]})}, "cart", "unreadable answer"),
        ({"POST /orders": (503, {"error": "checkout_disabled"})}, "checkout", "checkout_disabled"),
        ({"GET /orders/": (200, b"not json")}, "read_back", "expected 200 with order"),
    ],
    ids=["items-not-a-list", "cart-of-the-wrong-shape", "checkout-off", "read-back-garbled"],
)
def test_an_odd_answer_fails_its_step_with_the_evidence_and_ends_the_journey(
    serve: Any, override: dict[str, Answer], step: str, evidence: str
) -> None:
    run = journey(serve(shop(override)), "TW")
    steps = steps_of(run)
    assert list(steps)[-1] == step  # the steps after a failed one are not run
    assert steps[step]["ok"] is False
    assert evidence in steps[step]["evidence"]


def test_a_shop_that_does_not_answer_fails_the_first_step_as_no_answer() -> None:
    run = journey("http://127.0.0.1:9", "TW")  # discard: nothing listens
    [only] = run["steps"]
    assert only["step"] == "browse"
    assert only["ok"] is False
    assert only["status"] == 0
    assert only["evidence"].startswith("no answer:")
