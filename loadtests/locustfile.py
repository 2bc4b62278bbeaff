"""Production-shaped shoppers for the two-region shop.

Browse-heavy (list, product, cart, checkout), 60 % of users in Taiwan
(`X-Geo: TW`) and 40 % in Japan (`X-Geo: JP`), with think time. A checkout
sends an Idempotency-Key and retries on a timeout, a reset or a 5xx with the
same key, as real clients do; with `--run-dir` every checkout becomes an
operation in `history.jsonl` and every request a line of `timeline.jsonl`
(formats: `aftershock.load.history`).

    locust -f loadtests/locustfile.py --host http://127.18.X.1:8080
    locust -f loadtests/locustfile.py --host URL --headless -u 50 -t 2m \\
        --shape spike --run-dir results/adhoc
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from recording import Recorder
from shapes import SHAPES, requested

from aftershock.load import answers, history, task_mix
from aftershock.load.task_mix import DEFAULT_THINK_TIME, DEFAULT_WEIGHTS

# task_mix.TASKS names -> the Shopper method that does it
METHODS = {
    "list": "list_products",
    "product": "view_product",
    "cart": "fill_cart",
    "checkout": "checkout",
    "profile": "update_profile",
}
HOME_REGION = {"TW": "taiwan", "JP": "tokyo"}
"""Where the edge sends each geo while both regions are up: a shopper's first region."""
RETRY_BACKOFF = 0.2  # seconds before the first retry; doubles each time


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("aftershock")
    group.add_argument("--run-dir", default="", help="Write history.jsonl and timeline.jsonl here")
    group.add_argument(
        "--shape",
        default="none",
        choices=["none", *SHAPES],
        help="Load shape; -u is the peak, -t the length",
    )
    group.add_argument(
        "--task-weights", default=DEFAULT_WEIGHTS, help=f"Task mix, e.g. {DEFAULT_WEIGHTS}"
    )
    group.add_argument(
        "--think-time", default=DEFAULT_THINK_TIME, help="Seconds between tasks: min,max"
    )
    group.add_argument("--products", type=int, default=1000, help="Catalog size (ids 1..N)")
    group.add_argument(
        "--checkout-attempts",
        type=int,
        default=4,
        help="Attempts per checkout, the same key each time",
    )
    group.add_argument(
        "--request-timeout",
        type=float,
        default=5.0,
        help="Seconds before a request counts as timed out",
    )
    group.add_argument(
        "--run-id", default="", help="Prefix of every Idempotency-Key (default: random)"
    )
    group.add_argument(
        "--customers",
        type=int,
        default=20,
        help="Profiles the shoppers share (both geos write them: concurrent writes)",
    )
    group.add_argument(
        "--serving-header",
        default="X-Served-By",
        help="Header naming the region that served an answer; empty: the service names none",
    )
    group.add_argument(
        "--resubmit-share",
        type=float,
        default=0.1,
        help="Share of acknowledged checkouts sent again, same key, through the other region",
    )


class Shopper(FastHttpUser):
    """One shopper: browses, fills a cart, checks out; `geo` says where they are."""

    abstract = True
    geo = "TW"

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.low, self.high = _parsed(task_mix.think_time, options.think_time)
        self.products = max(1, options.products)
        self.attempts = max(1, options.checkout_attempts)
        self.run_id = options.run_id
        self.name = f"{self.geo.lower()}-{uuid.uuid4().hex[:8]}"
        self.cart = f"{self.run_id}-{self.name}"
        self.customers = max(1, options.customers)
        self.resubmit_share = min(1.0, max(0.0, options.resubmit_share))
        self.writes = 0
        # The region that served this shopper last (X-Served-By): order keys
        # name it, as a client scoping keys to the region it talks to would.
        self.region = HOME_REGION[self.geo]
        recorder: Recorder = self.environment.aftershock_recorder  # type: ignore[attr-defined]
        self.record = recorder.sink("history")
        self.record_profile = recorder.sink("profiles")
        self.record_resubmit = recorder.sink("resubmits")

    def wait_time(self) -> float:
        return random.uniform(self.low, self.high)  # noqa: S311 - think time, not crypto

    def context(self) -> dict[str, Any]:
        return {"geo": self.geo}

    @task
    def list_products(self) -> None:
        offset = random.randrange(0, max(1, self.products - 20))  # noqa: S311
        self.client.get(
            f"/products?limit=20&offset={offset}", name="/products", headers=self._headers()
        )

    @task
    def view_product(self) -> None:
        self.client.get(
            f"/products/{self._product()}", name="/products/[id]", headers=self._headers()
        )

    @task
    def fill_cart(self) -> None:
        item = {"product_id": self._product(), "quantity": 1}
        self.client.post(
            f"/carts/{self.cart}/items",
            json=item,
            name="/carts/[id]/items",
            headers=self._headers(),
        )
        with self.client.get(
            f"/carts/{self.cart}", name="/carts/[id]", headers=self._headers(), catch_response=True
        ) as response:
            self._served(response)

    @task
    def checkout(self) -> None:
        """One operation: invoke, attempts with one key, exactly one completion (also if killed)."""
        key = f"{self.run_id}-{uuid.uuid4().hex}@{self.region}"
        items = [
            {"product_id": p, "quantity": 1}
            for p in random.sample(range(1, self.products + 1), min(3, self.products))
        ]
        self.record(history.invoke(key, self.name, "checkout", {"items": items}))
        results: list[str] = []
        value: dict[str, Any] = {}
        try:
            for attempt in range(self.attempts):
                status, refused, body = self._order(key, items)
                results.append(history.attempt_result(status, refused))
                value = {"status": status, "attempts": attempt + 1}
                if results[-1] == history.APPLIED and isinstance(body, dict) and "order_id" in body:
                    value.update(order_id=body["order_id"], region=body.get("region"))
                    break
                if results[-1] == history.APPLIED:  # 2xx without an order id: say so, don't guess
                    results[-1] = history.UNKNOWN
                    value["error"] = "2xx without an order id"
                if not history.worth_retrying(status, refused):
                    break
                gevent.sleep(RETRY_BACKOFF * 2**attempt)
        finally:
            # Runs on GreenletExit too (a stopping Locust kills users mid-task):
            # every invoke gets its one completion.
            outcome = history.settle(results)
            self.record(history.complete(outcome, key, self.name, "checkout", value))
        if outcome == history.OK and random.random() < self.resubmit_share:  # noqa: S311
            self._resubmit(key, items)

    def _resubmit(self, key: str, items: list[dict[str, int]]) -> None:
        """Send an acknowledged checkout again, same key, through the other region.

        What a client does when it never saw the answer and its retry lands
        elsewhere (a DNS failover, a network switch): the platform must
        answer with the same order, or refuse; never accept the key twice.
        """
        geo = "JP" if self.geo == "TW" else "TW"
        op_id = f"{key}#resubmit"
        self.record_resubmit(history.invoke(op_id, self.name, "resubmit", {"key": key}))
        value: dict[str, Any] = {"key": key, "geo": geo}
        result = history.UNKNOWN
        try:
            status, refused, body = self._order(key, items, geo)
            result = history.attempt_result(status, refused)
            value["status"] = status
            if result == history.APPLIED and isinstance(body, dict) and "order_id" in body:
                value.update(order_id=body["order_id"], region=body.get("region"))
            elif result == history.APPLIED:
                result = history.UNKNOWN
        finally:
            outcome = history.settle([result])
            self.record_resubmit(history.complete(outcome, op_id, self.name, "resubmit", value))

    @task
    def update_profile(self) -> None:
        """One write to a shared customer's profile: a value no other write carries."""
        customer = f"{self.run_id}-c{random.randint(1, self.customers)}"  # noqa: S311
        self.writes += 1
        text = f"{self.name}-{self.writes}"
        self.record_profile(history.invoke(text, self.name, "profile", {"customer": customer}))
        result, status = history.UNKNOWN, 0
        try:
            with self.client.put(
                f"/profiles/{customer}",
                json={"value": text},
                name="/profiles/[id]",
                headers=self._headers(),
                catch_response=True,
            ) as response:
                error = getattr(response, "error", None)
                status = response.status_code or 0
                result = history.attempt_result(status, isinstance(error, ConnectionRefusedError))
                self._served(response)
        finally:
            outcome = history.settle([result])
            value = {"customer": customer, "status": status}
            self.record_profile(history.complete(outcome, text, self.name, "profile", value))

    def _served(self, response: Any) -> None:
        region = response.headers.get("X-Served-By") if response.headers else None
        if region in HOME_REGION.values():
            self.region = region

    def _order(
        self, key: str, items: list[dict[str, int]], geo: str | None = None
    ) -> tuple[int, bool, Any]:
        headers = {**self._headers(), "Idempotency-Key": key}
        if geo is not None:
            headers["X-Geo"] = geo
        # A resubmission is its own route on the timeline: it goes to the other region on
        # purpose, and must not count as the shopper's own region failing.
        route = "/orders" if geo is None else "/orders (resubmit)"
        with self.client.post(
            "/orders", json={"items": items}, name=route, headers=headers, catch_response=True
        ) as response:
            error = getattr(response, "error", None)
            refused = isinstance(error, ConnectionRefusedError)
            status = response.status_code or 0
            if status == 409:
                # Out of stock is the platform's answer, not a failure of Locust's request;
                # the timeline classes it `refused` all the same (aftershock.load.answers).
                response.success()
            if geo is None:
                self._served(response)
            try:
                body = response.json() if status else None
            except ValueError:
                body = None
            if 200 <= status < 300 and not (isinstance(body, dict) and "order_id" in body):
                response.failure("2xx without an order id")  # not served: the answer is wrong
        return status, refused, body

    def _product(self) -> int:
        return random.randint(1, self.products)  # noqa: S311

    def _headers(self) -> dict[str, str]:
        return {"X-Geo": self.geo}


class TaiwanShopper(Shopper):
    weight = 3
    geo = "TW"


class JapanShopper(Shopper):
    weight = 2
    geo = "JP"


_shape = requested(sys.argv, os.environ)
if _shape is not None:
    SelectedShape = _shape  # Locust runs the shape class it finds in this module


@events.init.add_listener
def _on_init(environment: Environment, **kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:  # imported by a tool, not run by Locust
        return
    weights = _parsed(task_mix.weights, options.task_weights)
    for shopper in (TaiwanShopper, JapanShopper):
        shopper.tasks = [
            getattr(shopper, method) for key, method in METHODS.items() for _ in range(weights[key])
        ]
        shopper.network_timeout = options.request_timeout
        shopper.connection_timeout = min(options.request_timeout, 3.0)
    if not options.run_id:
        options.run_id = uuid.uuid4().hex[:8]
    # SIGINT (how the harness stops a run) is a KeyboardInterrupt in whichever
    # greenlet happens to run: once it killed the history flusher and Locust
    # never stopped. Deliver it to the main greenlet, whose handler shuts
    # Locust down and flushes the records.
    gevent.signal_handler(signal.SIGINT, _interrupt_main)
    run_dir = Path(options.run_dir) if options.run_dir else None
    recorder = Recorder(environment, run_dir)
    environment.aftershock_recorder = recorder  # type: ignore[attr-defined]
    if recorder.enabled:
        listener = _timeline_listener(recorder.sink("timeline"), options.serving_header)
        environment.events.request.add_listener(listener)


def _interrupt_main() -> None:
    gevent.get_hub().parent.throw(KeyboardInterrupt)


def _timeline_listener(record: Any, serving_header: str) -> Any:
    """A request listener that puts every request, retries included, on the timeline.

    Each request is classified here, where the client knows what it sent
    (`aftershock.load.answers`): a 2xx the task marked as failed is wrong,
    a 4xx the task declared in `context["expect"]` is its own doing.
    """
    named = bool(serving_header)
    classify = answers.classify

    def on_request(
        name: str,
        response_time: float,
        response: Any,
        context: dict[str, Any],
        start_time: float,
        exception: Any = None,
        **kwargs: Any,
    ) -> None:
        headers = response.headers
        region = headers.get(serving_header) if headers and named else None
        status = response.status_code or 0
        answer = classify(status, region, named, context.get("expect", ()), exception is None)
        record((start_time, name, status, response_time, region, context.get("geo"), answer))

    return on_request


@events.test_start.add_listener
def _on_test_start(environment: Environment, **kwargs: Any) -> None:
    """Write down when Locust began its users: its start-up before that is not the load's silence.

    Under contention Locust can take many seconds to import and parse; the
    load coverage counts silence from here, and from the harness's launch
    only when this was never written (a Locust that died starting up).
    """
    options = environment.parsed_options
    run_dir = getattr(options, "run_dir", "") if options is not None else ""
    if not run_dir or isinstance(environment.runner, WorkerRunner):
        return  # a worker of a distributed run: its master writes it
    marker = Path(run_dir) / history.BEGAN_FILE
    if not marker.exists():
        marker.write_text(json.dumps({"began": time.time()}))


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **kwargs: Any) -> None:
    recorder = getattr(environment, "aftershock_recorder", None)
    if recorder is not None and recorder.shipping:
        recorder.close()  # a worker's last batch goes out before it reports "stopped"


@events.quitting.add_listener
def _on_quitting(environment: Environment, **kwargs: Any) -> None:
    recorder = getattr(environment, "aftershock_recorder", None)
    if recorder is not None:
        recorder.close()


def _parsed(parse: Any, text: str) -> Any:
    """A task_mix parser whose ValueError ends the Locust run with its one-line message."""
    try:
        return parse(text)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
