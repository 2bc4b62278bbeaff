"""The recording API: what a service's locustfile uses to write the history the verdicts read.

Import it in your locustfile; nothing else of aftershock is needed, and
nothing outside this package's `__all__` is promised to stay::

    from aftershock.recording import ServiceUser, requested_shape

    class Buyer(ServiceUser):
        abstract = True
        task_methods = {"list": "browse", "checkout": "buy"}

        def browse(self) -> None:
            self.send("GET", "/catalog/items", name="/catalog/items")

        def buy(self) -> None:
            key = self.new_key()
            outcome, _ = self.idempotent_write(
                "checkout", key,
                lambda: self.send("POST", "/purchases", name="/purchases",
                                  headers={"X-Request-Id": key}, json={"sku": 1},
                                  check=lambda b: "" if "purchaseId" in (b or {}) else "no id"),
                order_id=lambda answer: answer.body["purchaseId"],
            )

    class TaiwanBuyer(Buyer):
        weight = 3
        geo = "TW"

    class JapanBuyer(Buyer):
        weight = 2
        geo = "JP"

    SelectedShape = requested_shape()

Importing the package hooks the harness's options, the recorder and the
timeline into Locust (`plumbing`). The history format is
`aftershock.load.history`; the classes of answers, `aftershock.load.answers`;
docs/service-contract.md walks through all of it.
"""

from __future__ import annotations

import os
import sys

from aftershock.load import history
from aftershock.load.answers import CLIENT_ERROR, NO_ANSWER, REFUSED, SERVED
from aftershock.recording import plumbing
from aftershock.recording.options import SERVING_HEADER
from aftershock.recording.shapes import SHAPES, ScheduledShape, requested
from aftershock.recording.user import GEO_HEADER, HOME_REGION, OTHER_GEO, Answer, ServiceUser

__all__ = [
    "CLIENT_ERROR",
    "FAIL",
    "GEO_HEADER",
    "HOME_REGION",
    "INFO",
    "NO_ANSWER",
    "OK",
    "OTHER_GEO",
    "REFUSED",
    "SERVED",
    "SERVING_HEADER",
    "SHAPES",
    "Answer",
    "ServiceUser",
    "requested_shape",
]

OK, FAIL, INFO = history.OK, history.FAIL, history.INFO
"""A write's completion: acknowledged; definitely not applied; unknown."""


def requested_shape() -> type[ScheduledShape] | None:
    """The load shape the harness asked for (`--shape`), for `SelectedShape = requested_shape()`.

    Locust picks shape classes when it imports the locustfile, before its
    options are parsed, so the locustfile names the one asked for here.
    """
    return requested(sys.argv, os.environ)


plumbing.register()
