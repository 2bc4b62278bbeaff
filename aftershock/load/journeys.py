"""Critical user journeys: one scripted shopper per customer geo, each step judged with evidence.

browse -> product -> add to cart -> checkout -> read the order back ->
check out again with the same Idempotency-Key (the same order must come
back). One attempt per step, as a customer would see it: a step that
fails ends the journey, and the steps after it are "not run". Stdlib HTTP
only: journeys run in the harness's own process, which never imports
Locust.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

TIMEOUT_S = 5.0
EVIDENCE_CHARS = 160


def call(
    host: str, method: str, path: str, geo: str, body: Any = None, key: str = ""
) -> dict[str, Any]:
    """One request as the journey's shopper in `geo`: status, region, ms and the JSON answer."""
    if not host.startswith(("http://", "https://")):
        raise ValueError(f"host must be an http(s) URL, not {host!r}")
    headers = {"X-Geo": geo, "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{host}{path}", data=data, headers=headers, method=method
    )
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
            status, headers_in, raw = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        status, headers_in, raw = exc.code, exc.headers, exc.read()
    except (OSError, ValueError) as exc:
        ms = round((time.monotonic() - began) * 1000, 1)
        return {"status": 0, "region": None, "ms": ms, "body": None, "error": str(exc)}
    ms = round((time.monotonic() - began) * 1000, 1)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return {"status": status, "region": headers_in.get("X-Served-By"), "ms": ms, "body": parsed}


class Journey:
    """The steps one shopper took, each with what it expected and what it got."""

    def __init__(self, host: str, geo: str, label: str) -> None:
        self.host = host
        self.geo = geo
        self.cart = f"{label}-{geo.lower()}-{uuid.uuid4().hex[:8]}"
        self.key = ""
        self.region = ""  # the region that served the last step (X-Served-By)
        self.steps: list[dict[str, Any]] = []

    def step(
        self,
        name: str,
        method: str,
        path: str,
        check: Callable[[dict[str, Any]], bool],
        expected: str,
        body: Any = None,
        key: str = "",
    ) -> dict[str, Any] | None:
        """One request; its JSON body when `check` accepts the answer, else None."""
        answer = call(self.host, method, path, self.geo, body, key)
        got = answer["body"] if isinstance(answer["body"], dict) else {}
        evidence = f"{answer['status']} {json.dumps(answer['body'], default=str)[:EVIDENCE_CHARS]}"
        try:
            ok = answer["status"] != 0 and bool(check({**answer, "body": got}))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            ok = False  # an answer of the wrong shape is the platform's failure, said as such
            evidence += f"; unreadable answer ({type(exc).__name__}: {exc})"
        if answer.get("error"):
            evidence = f"no answer: {answer['error']}"
        if not ok:
            evidence += f"; expected {expected}"
        self.steps.append(
            {
                "step": name,
                "ok": ok,
                "status": answer["status"],
                "region": answer["region"],
                "ms": answer["ms"],
                "evidence": evidence,
            }
        )
        if answer["region"]:
            self.region = str(answer["region"])
        return got if ok else None

    def order_key(self) -> str:
        """The checkout's key, naming the region that served the shopper last, as the load's do:
        a platform that scopes keys to regions (ADR-037's `keys=region`) accepts it there."""
        return f"{self.cart}-order@{self.region}" if self.region else f"{self.cart}-order"

    def record(self, **extra: Any) -> dict[str, Any]:
        return {"geo": self.geo, "steps": self.steps, "key": self.key, **extra}


def journey(host: str, geo: str, label: str = "drill") -> dict[str, Any]:
    """One shopper in `geo` through every critical step; stops at the first that fails."""
    j = Journey(host, geo, label)
    listed = j.step("browse", "GET", "/products?limit=5", _lists_products, "200 with products")
    if listed is None:
        return j.record()
    product = _pick(listed["items"])
    if product is None:
        j.steps[-1].update(ok=False, evidence=j.steps[-1]["evidence"] + "; no product with an id")
        return j.record()
    lines = [{"product_id": product, "quantity": 1}]
    shown = j.step("product", "GET", f"/products/{product}",
                   lambda a: a["status"] == 200 and a["body"].get("id") == product,
                   f"200 with product {product}")  # fmt: skip
    if shown is None:
        return j.record()
    carted = j.step("cart", "POST", f"/carts/{j.cart}/items",
                    lambda a: a["status"] == 200 and _in_cart(a["body"], product),
                    "200 with the product in the cart", body=lines[0])  # fmt: skip
    if carted is None:
        return j.record()
    j.key = j.order_key()
    placed = j.step("checkout", "POST", "/orders",
                    lambda a: a["status"] == 201 and bool(a["body"].get("order_id")),
                    "201 with an order id", body={"items": lines}, key=j.key)  # fmt: skip
    if placed is None:
        return j.record()
    order = placed["order_id"]
    read = j.step("read_back", "GET", f"/orders/{order}",
                  lambda a: a["status"] == 200 and _holds(a["body"], order, product),
                  f"200 with order {order} holding product {product}")  # fmt: skip
    if read is None:
        return j.record(order_id=order)
    j.step("same_key", "POST", "/orders",
           lambda a: a["status"] in (200, 201) and a["body"].get("order_id") == order,
           f"the same order {order}", body={"items": lines}, key=j.key)  # fmt: skip
    return j.record(order_id=order)


def _lists_products(answer: dict[str, Any]) -> bool:
    return answer["status"] == 200 and bool(answer["body"].get("items"))


def _pick(items: Any) -> int | None:
    """A product in stock from a catalog page (the first with an id when none is)."""
    shaped = [i for i in items or [] if isinstance(i, dict) and isinstance(i.get("id"), int)]
    in_stock = [i for i in shaped if isinstance(i.get("stock"), int) and i["stock"] > 0]
    return int((in_stock or shaped)[0]["id"]) if shaped else None


def _in_cart(body: dict[str, Any], product: int) -> bool:
    """The cart answers {"items": {"<product id>": quantity}}."""
    return int((body.get("items") or {}).get(str(product), 0)) >= 1


def _holds(body: dict[str, Any], order: Any, product: int) -> bool:
    bought = [(i.get("product_id"), i.get("quantity")) for i in body.get("items", [])]
    return body.get("order_id") == order and bought == [(product, 1)]
