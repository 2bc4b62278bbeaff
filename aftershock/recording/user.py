"""`ServiceUser`: the base class of a recording locustfile's users.

A user sends requests through `send`, which classifies every answer by the
promise it serves (`aftershock.load.answers`) and returns it as an `Answer`;
the timeline records the same class. Writes the final reads must account
for go through `idempotent_write` (orders) or `register_write` (registers),
which write the history's invoke and its one completion, retrying with the
same key as a real client does; `resubmit` sends an acknowledged write again
through the other region.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser

from aftershock.load import answers, history, task_mix
from aftershock.recording.options import parsed
from aftershock.recording.recorder import Recorder

GEO_HEADER = "X-Geo"
"""The header the sandbox's edge routes by: `TW` to taiwan, `JP` to tokyo."""
HOME_REGION = {"TW": "taiwan", "JP": "tokyo"}
"""Where the edge sends each geo while both regions are up: a user's first region."""
OTHER_GEO = {"TW": "JP", "JP": "TW"}
RETRY_BACKOFF = 0.2
"""Seconds before the first retry of a write; doubles each time."""


@dataclass(frozen=True)
class Answer:
    """One request's answer, as the client saw it.

    `status` is 0 when no answer came back. `kind` is its class: `served`,
    `refused`, `client_error` or `no_answer` (`aftershock.load.answers`).
    `region` is the serving region the answer named (None when the service
    names none, or this answer did not). `connection_refused`: the request
    never left, so it was definitely not applied.
    """

    status: int
    kind: str
    body: Any = None
    region: str | None = None
    connection_refused: bool = False
    reason: str = ""

    @property
    def served(self) -> bool:
        return self.kind == answers.SERVED

    @property
    def result(self) -> str:
        """What this attempt did to a write: applied, not applied, or unknown.

        A 2xx the client found wrong (`check` gave a reason) is unknown: the
        platform may have applied it, and its answer cannot say.
        """
        found = history.attempt_result(self.status, self.connection_refused)
        if found == history.APPLIED and not self.served:
            return history.UNKNOWN
        return found


def recorder_of(environment: Any) -> Recorder:
    """The run's recorder, put on Locust's environment at init (`aftershock.recording`)."""
    recorder = getattr(environment, "aftershock_recorder", None)
    if recorder is None:
        raise RuntimeError(
            "aftershock.recording was not initialised: import it in the locustfile Locust runs"
        )
    return recorder


class ServiceUser(FastHttpUser):
    """A user of the service under test, in one geo (`geo`: "TW" or "JP").

    Subclass it once per geo with a `weight`. Name the user's tasks in
    `task_methods` ({"list": "browse", "checkout": "buy", ...}, the task
    names of `aftershock.load.task_mix.TASKS`): the harness's
    `--task-weights` then picks them. A subclass that overrides `on_start`
    calls `super().on_start()` first.
    """

    abstract = True
    geo: ClassVar[str] = "TW"
    task_methods: ClassVar[Mapping[str, str]] = {}

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.think = parsed(task_mix.think_time, options.think_time)
        self.products = max(1, options.products)
        self.customers = max(1, options.customers)
        self.attempts = max(1, options.checkout_attempts)
        self.resubmit_share = min(1.0, max(0.0, options.resubmit_share))
        self.run_id: str = options.run_id
        self.serving_header: str = options.serving_header
        self.name = f"{self.geo.lower()}-{uuid.uuid4().hex[:8]}"
        self.writes = 0
        # The region that served this user last: keys name it, as a client
        # scoping its keys to the region it talks to would.
        self.region = HOME_REGION[self.geo]
        recorder = recorder_of(self.environment)
        self._record = {kind: recorder.sink(kind) for kind in ("history", "profiles", "resubmits")}

    def wait_time(self) -> float:
        return random.uniform(*self.think)  # noqa: S311 - think time, not crypto

    def context(self) -> dict[str, Any]:
        return {"geo": self.geo}

    def headers(self, geo: str | None = None, **extra: str) -> dict[str, str]:
        """The geo header (this user's, or `geo`'s) and `extra` headers."""
        return {GEO_HEADER: geo or self.geo, **extra}

    def new_key(self) -> str:
        """A fresh order key: the run's prefix (what the final reads query), then unique."""
        return f"{self.run_id}-{uuid.uuid4().hex}@{self.region}"

    def send(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        geo: str | None = None,
        expect: Collection[int] = (),
        check: Callable[[Any], str] | None = None,
    ) -> Answer:
        """Send one request and classify its answer.

        `name` groups it on the timeline and in Locust's statistics (default
        `path`). `geo` sends it as a user of the other geo would (a
        resubmission), on a route of its own, and does not move this user.
        `expect` holds the 4xx statuses this request provokes on purpose
        (the client's own error, never the platform's). `check` takes a 2xx's
        parsed body and returns why it is wrong, or "" when it is right.
        """
        sent_headers = {**self.headers(geo), **(headers or {})}
        route = name or path
        if geo is not None and geo != self.geo:
            # Sent to the other region on purpose: not this user's region failing.
            route = f"{route} (resubmit)"
        context = {"geo": geo or self.geo, "expect": tuple(expect)}
        with self.client.request(
            method, path, name=route, json=json, headers=sent_headers,
            context=context, catch_response=True,
        ) as response:  # fmt: skip
            status = int(response.status_code or 0)
            error = getattr(response, "error", None)
            region = self._region_of(response)
            body = _body(response) if status else None
            reason = check(body) if check is not None and 200 <= status < 300 else ""
            kind = answers.classify(status, region, bool(self.serving_header), expect, not reason)
            # Locust's statistics agree with the class; the timeline writes the class itself.
            if reason:
                response.failure(reason)
            elif kind == answers.NO_ANSWER and 0 < status < 500:
                response.failure(f"{status} from no region: no {self.serving_header} header")
            elif kind != answers.NO_ANSWER:
                response.success()  # a refusal is the platform's answer, not a broken request
        if geo is None or geo == self.geo:
            self._moved_to(region)
        return Answer(status, kind, body, region, isinstance(error, ConnectionRefusedError), reason)

    def idempotent_write(
        self,
        op: str,
        key: str,
        attempt: Callable[[], Answer],
        *,
        value: Any = None,
        order_id: Callable[[Answer], Any],
    ) -> tuple[str, Answer | None]:
        """One write the final reads must find (an order): invoke, attempts, one completion.

        `attempt` sends the write once, with `key` as its idempotency key (in
        whatever header or field the service takes it); it is retried with
        the same key after a timeout, a reset, a 5xx or a 429. `order_id`
        names the order an applied answer created; an applied answer
        without one is unknown, not ok. Returns the completion (`ok`, `fail`
        or `info`) and the last answer. The completion is written even when
        Locust stops the user mid-write.
        """
        record = self._record["history"]
        record(history.invoke(key, self.name, op, value))
        results: list[str] = []
        found: dict[str, Any] = {}
        answer: Answer | None = None
        try:
            for number in range(self.attempts):
                answer = attempt()
                results.append(answer.result)
                found = {"status": answer.status, "attempts": number + 1}
                if results[-1] == history.APPLIED:
                    made = order_id(answer)
                    if made is not None:
                        found.update(order_id=made, region=answer.region)
                        break
                    results[-1] = history.UNKNOWN  # applied, but to what: say so, don't guess
                    found["error"] = "2xx without an order id"
                if not history.worth_retrying(answer.status, answer.connection_refused):
                    break
                gevent.sleep(RETRY_BACKOFF * 2**number)
        finally:
            # Runs on GreenletExit too (a stopping Locust kills users mid-task).
            outcome = history.settle(results)
            record(history.complete(outcome, key, self.name, op, found))
        return outcome, answer

    def should_resubmit(self, outcome: str) -> bool:
        """Whether to send this acknowledged write again (`--resubmit-share` of them)."""
        return outcome == history.OK and random.random() < self.resubmit_share  # noqa: S311

    def resubmit(
        self,
        key: str,
        attempt: Callable[[str], Answer],
        *,
        order_id: Callable[[Answer], Any],
    ) -> str:
        """Send an acknowledged write again, same key, through the other region.

        What a client does when it never saw the answer and its retry lands
        elsewhere (a DNS failover, a network switch): the platform must
        answer with the same order, or refuse; never accept the key twice.
        `attempt(geo)` sends it once as a user of `geo` (pass it to `send`).
        """
        record = self._record["resubmits"]
        geo = OTHER_GEO[self.geo]
        op_id = f"{key}#resubmit"
        record(history.invoke(op_id, self.name, "resubmit", {"key": key}))
        found: dict[str, Any] = {"key": key, "geo": geo}
        result = history.UNKNOWN
        try:
            answer = attempt(geo)
            result = answer.result
            found["status"] = answer.status
            made = order_id(answer) if result == history.APPLIED else None
            if made is not None:
                found.update(order_id=made, region=answer.region)
            elif result == history.APPLIED:
                result = history.UNKNOWN
        finally:
            outcome = history.settle([result])
            record(history.complete(outcome, op_id, self.name, "resubmit", found))
        return outcome

    def pick_register(self) -> tuple[str, str]:
        """A register the users share (`--customers` of them) and a value no other write carries."""
        register = f"{self.run_id}-c{random.randint(1, self.customers)}"  # noqa: S311
        self.writes += 1
        return register, f"{self.name}-{self.writes}"

    def register_write(self, register: str, value: str, attempt: Callable[[], Answer]) -> str:
        """One write of `value` to a register both regions write: for lost updates.

        The final reads' `registers` query must find the last value each
        register kept; `value` is the write's id in the history. Returns the
        completion.
        """
        record = self._record["profiles"]
        record(history.invoke(value, self.name, "profile", {"customer": register}))
        result, status = history.UNKNOWN, 0
        try:
            answer = attempt()
            result, status = answer.result, answer.status
        finally:
            outcome = history.settle([result])
            found = {"customer": register, "status": status}
            record(history.complete(outcome, value, self.name, "profile", found))
        return outcome

    def _region_of(self, response: Any) -> str | None:
        if not self.serving_header or not response.headers:
            return None
        return response.headers.get(self.serving_header) or None

    def _moved_to(self, region: str | None) -> None:
        if region in HOME_REGION.values():
            self.region = region


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
