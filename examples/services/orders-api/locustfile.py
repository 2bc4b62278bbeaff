"""orders-api's shoppers, on aftershock's recording API alone.

Browse items, buy one (X-Request-Id, retried under the same id, sometimes
sent again through the other region), rename a shared account. The
harness's --task-weights picks the tasks by its names: list, product,
checkout, profile (this service has no cart).
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from aftershock.recording import Answer, ServiceUser, requested_shape

SKUS = 500  # schema.sql stocks SKU-0001 .. SKU-0500


def _sku() -> str:
    return f"SKU-{random.randint(1, SKUS):04d}"  # noqa: S311 - load, not crypto


def _purchase_id(answer: Answer) -> Any:
    return answer.body.get("purchaseId") if isinstance(answer.body, dict) else None


def _names_a_purchase(body: Any) -> str:
    return "" if isinstance(body, dict) and body.get("purchaseId") else "2xx without a purchaseId"


class Buyer(ServiceUser):
    abstract = True
    task_methods: ClassVar[dict[str, str]] = {
        "list": "browse",
        "product": "look",
        "checkout": "buy",
        "profile": "rename",
    }

    def browse(self) -> None:
        page = random.randint(0, SKUS // 20 - 1)  # noqa: S311
        self.send("GET", f"/api/v1/items?page={page}", name="/api/v1/items")

    def look(self) -> None:
        self.send("GET", f"/api/v1/items/{_sku()}", name="/api/v1/items/[sku]")

    def buy(self) -> None:
        key = self.new_key()
        item = {"sku": _sku(), "quantity": 1}

        def once(geo: str | None = None) -> Answer:
            return self.send(
                "POST", "/api/v1/purchases", name="/api/v1/purchases", geo=geo, json=item,
                headers={"X-Request-Id": key}, check=_names_a_purchase,
            )  # fmt: skip

        outcome, _ = self.idempotent_write("checkout", key, once, value=item, order_id=_purchase_id)
        if self.should_resubmit(outcome):
            self.resubmit(key, once, order_id=_purchase_id)

    def rename(self) -> None:
        account, value = self.pick_register()
        self.register_write(
            account,
            value,
            lambda: self.send(
                "PUT", f"/api/v1/accounts/{account}", name="/api/v1/accounts/[id]",
                json={"displayName": value},
            ),
        )  # fmt: skip


class TaiwanBuyer(Buyer):
    weight = 3
    geo = "TW"


class JapanBuyer(Buyer):
    weight = 2
    geo = "JP"


SelectedShape = requested_shape()
