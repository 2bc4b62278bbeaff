"""Parsing and validating requests: every problem becomes a 4xx `ApiError`."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from aftershock.sandbox.shop.errors import ApiError

MAX_LINES = 50
MAX_QUANTITY = 1000
MAX_KEY_LENGTH = 200


async def read_json(request: Request, limit: int) -> Any:
    """The request body as JSON; 413 past `limit` bytes, 400 when malformed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"request body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "body_too_large", f"request body is larger than {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "request body is not valid JSON") from None


def positive_int(value: Any, field: str, maximum: int) -> int:
    """`value` as an int in 1..maximum (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(422, "invalid_field", f"{field} must be an integer")
    if not 1 <= value <= maximum:
        raise ApiError(422, "invalid_field", f"{field} must be between 1 and {maximum}")
    return value


def product_id(raw: str) -> int:
    """A product id from the URL path."""
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise ApiError(404, "unknown_product", f"no product {raw!r}")
    return int(raw)


def order_lines(body: Any) -> list[tuple[int, int]]:
    """`{"items": [{"product_id": 1, "quantity": 2}, ...]}` as sorted (product, quantity).

    Sorted by product id so concurrent checkouts lock stock rows in one order
    (no deadlocks); repeated products are merged.
    """
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ApiError(422, "invalid_order", 'expected {"items": [{"product_id", "quantity"}]}')
    items = body["items"]
    if not 1 <= len(items) <= MAX_LINES:
        raise ApiError(422, "invalid_order", f"an order has 1 to {MAX_LINES} items")
    merged: dict[int, int] = {}
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(422, "invalid_order", "each item is an object")
        pid = positive_int(item.get("product_id"), "product_id", 2**31 - 1)
        qty = positive_int(item.get("quantity"), "quantity", MAX_QUANTITY)
        merged[pid] = merged.get(pid, 0) + qty
    if any(q > MAX_QUANTITY for q in merged.values()):
        raise ApiError(422, "invalid_field", f"quantity must be between 1 and {MAX_QUANTITY}")
    return sorted(merged.items())


def cart_item(body: Any) -> tuple[int, int]:
    """`{"product_id": 1, "quantity": 2}` for a cart."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_item", 'expected {"product_id", "quantity"}')
    return (
        positive_int(body.get("product_id"), "product_id", 2**31 - 1),
        positive_int(body.get("quantity"), "quantity", MAX_QUANTITY),
    )


def idempotency_key(request: Request) -> str:
    """The Idempotency-Key header: required, 1..200 printable characters."""
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        raise ApiError(400, "missing_idempotency_key", "POST /orders needs an Idempotency-Key")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key: 1-200 printable chars")
    return key


def cart_id(raw: str) -> str:
    if not 1 <= len(raw) <= 100 or not raw.replace("-", "").replace("_", "").isalnum():
        raise ApiError(422, "invalid_cart_id", "cart ids are 1-100 letters, digits, - or _")
    return raw


def customer_id(raw: str) -> str:
    if not 1 <= len(raw) <= 100 or not raw.replace("-", "").replace("_", "").isalnum():
        raise ApiError(422, "invalid_customer", "customer ids are 1-100 letters, digits, - or _")
    return raw
