"""Production-shaped shoppers for the two-region shop, on the recording API alone.

Browse-heavy (list, product, cart, checkout, profile), 60 % of users in
Taiwan and 40 % in Japan, with think time. A checkout sends an
Idempotency-Key and is retried with the same key after a timeout, a reset
or a 5xx, as real clients do; with `--run-dir` every checkout becomes an
operation in `history.jsonl` and every request a line of `timeline.jsonl`
(`aftershock.recording`; formats: `aftershock.load.history`).

    locust -f aftershock/services/shop/locustfile.py --host http://127.18.X.1:8080
    locust -f aftershock/services/shop/locustfile.py --host URL --headless -u 50 -t 2m \\
        --shape spike --run-dir results/adhoc
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from aftershock.recording import Answer, ServiceUser, requested_shape


class Shopper(ServiceUser):
    """One shopper: browses, fills a cart, checks out, edits a shared profile."""

    abstract = True
    task_methods: ClassVar[dict[str, str]] = {
        "list": "list_products",
        "product": "view_product",
        "cart": "fill_cart",
        "checkout": "checkout",
        "profile": "update_profile",
    }

    def on_start(self) -> None:
        super().on_start()
        self.cart = f"{self.run_id}-{self.name}"

    def list_products(self) -> None:
        offset = random.randrange(0, max(1, self.products - 20))  # noqa: S311
        self.send("GET", f"/products?limit=20&offset={offset}", name="/products")

    def view_product(self) -> None:
        self.send("GET", f"/products/{self._product()}", name="/products/[id]")

    def fill_cart(self) -> None:
        item = {"product_id": self._product(), "quantity": 1}
        self.send("POST", f"/carts/{self.cart}/items", name="/carts/[id]/items", json=item)
        self.send("GET", f"/carts/{self.cart}", name="/carts/[id]")

    def checkout(self) -> None:
        """One order: invoke, attempts with one key, exactly one completion (also if killed)."""
        key = self.new_key()
        items = [
            {"product_id": p, "quantity": 1}
            for p in random.sample(range(1, self.products + 1), min(3, self.products))
        ]
        outcome, _ = self.idempotent_write(
            "checkout", key, lambda: self._order(key, items), value={"items": items},
            order_id=_order_id,
        )  # fmt: skip
        if self.should_resubmit(outcome):
            self.resubmit(key, lambda geo: self._order(key, items, geo), order_id=_order_id)

    def update_profile(self) -> None:
        """One write to a shared customer's profile: a value no other write carries."""
        customer, value = self.pick_register()
        self.register_write(
            customer,
            value,
            lambda: self.send(
                "PUT", f"/profiles/{customer}", name="/profiles/[id]", json={"value": value}
            ),
        )

    def _order(self, key: str, items: list[dict[str, int]], geo: str | None = None) -> Answer:
        return self.send(
            "POST", "/orders", name="/orders", json={"items": items}, geo=geo,
            headers={"Idempotency-Key": key}, check=_names_an_order,
        )  # fmt: skip

    def _product(self) -> int:
        return random.randint(1, self.products)  # noqa: S311


def _names_an_order(body: Any) -> str:
    return "" if isinstance(body, dict) and "order_id" in body else "2xx without an order id"


def _order_id(answer: Answer) -> Any:
    return answer.body.get("order_id") if isinstance(answer.body, dict) else None


class TaiwanShopper(Shopper):
    weight = 3
    geo = "TW"


class JapanShopper(Shopper):
    weight = 2
    geo = "JP"


SelectedShape = requested_shape()  # Locust runs the shape class it finds in this module
