"""The operation history and the request timeline: one record format, written durably.

Every checkout the load makes is an *operation*: an ``invoke`` record, then
exactly one completion with the same ``id``:

- ``ok``: the shop acknowledged the order (``value.order_id``); it must exist.
- ``fail``: definitely not applied (a 4xx answer, or the connection was
  refused before the request left): it must not exist.
- ``info``: unknown (timeout, reset, 5xx after sending): it may or may not
  exist, and a checker may not assume either.

The ``id`` is the checkout's Idempotency-Key, so a checker can match history
to the orders table without trusting any answer the shop gave. Client retries
reuse the key and stay inside one operation; each attempt appears in the
timeline instead, which holds every request (time, route, status, latency,
the region that served it).

Both files are JSON Lines: appended to memory, written and flushed as one
batch every 50 ms (fsynced every second), so a SIGKILLed writer loses at most 100 ms (the
promise; half of it is margin for a flusher greenlet that wakes late on a
busy gevent hub) and a torn last line is the only damage a reader can meet
(it is skipped and counted). `bench/load_throughput.py` measures the cost.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HISTORY_FILE = "history.jsonl"
TIMELINE_FILE = "timeline.jsonl"
BEGAN_FILE = "began.json"  # when Locust began its users (its start-up done), by the locustfile
# Operations beside the checkouts, in the same invoke/complete format:
# profile writes (a register per customer), and acknowledged checkouts sent
# again with the same key through the other region.
PROFILES_FILE = "profiles.jsonl"
RESUBMITS_FILE = "resubmits.jsonl"
RECORD_FILES = {
    "history": HISTORY_FILE,
    "timeline": TIMELINE_FILE,
    "profiles": PROFILES_FILE,
    "resubmits": RESUBMITS_FILE,
}
"""Every kind of record the load writes, and its file in the run directory."""
FLUSH_INTERVAL = 0.05
# fsync blocks every greenlet: fsyncing both files every 50 ms cost 12 points
# of throughput in bench/load_throughput.py co-runs (recording/plain 0.80 -> 0.92).
SYNC_INTERVAL = 1.0
LOSS_PROMISE = 0.1  # the most a SIGKILL may cost, in seconds of records

INVOKE = "invoke"
OK = "ok"
FAIL = "fail"
INFO = "info"
COMPLETIONS = (OK, FAIL, INFO)


def invoke(op_id: str, process: str, op: str, value: Any = None) -> dict[str, Any]:
    """The record that opens operation `op_id` (call it before the first attempt)."""
    return _record(INVOKE, op_id, process, op, value)


def complete(kind: str, op_id: str, process: str, op: str, value: Any = None) -> dict[str, Any]:
    """The one record that closes operation `op_id`: `ok`, `fail` or `info`."""
    if kind not in COMPLETIONS:
        raise ValueError(f"a completion is one of {COMPLETIONS}, not {kind!r}")
    return _record(kind, op_id, process, op, value)


def _record(kind: str, op_id: str, process: str, op: str, value: Any) -> dict[str, Any]:
    return {"t": time.time(), "type": kind, "id": op_id, "process": process, "op": op,
            "value": value}  # fmt: skip


def request(
    started: float,
    route: str,
    status: int,
    ms: float,
    region: str | None,
    geo: str | None,
    answer: str | None = None,
) -> str:
    """One timeline entry, a single HTTP request as the client saw it, as a JSON line.

    Fields t, route, status (0: no answer), ms, region, geo, and answer: the
    class the client gave it (`aftershock.load.answers`). The load
    generator queues the arguments as a tuple and the writer calls this at
    flush time (`BatchWriter(encode=request)`), with an f-string rather than
    json.dumps: it runs for every request, and every microsecond there is
    throughput the load generator does not have.
    """
    return (
        f'{{"t":{started:.4f},"route":{_quoted(route)},"status":{int(status)},'
        f'"ms":{ms:.2f},"region":{_quoted(region)},"geo":{_quoted(geo)},'
        f'"answer":{_quoted(answer)}}}'
    )


@functools.lru_cache(maxsize=1024)
def _quoted(text: str | None) -> str:
    # Routes, regions and geos are a handful of strings: encode each once.
    return json.dumps(text)


class BatchWriter:
    """Append-only JSON Lines file, written in batches every `interval` seconds.

    `append` only touches a deque (atomic, no lock); a background thread (a
    greenlet under Locust's gevent) writes and flushes the batch, which is
    all a SIGKILL needs: written data lives in the page cache, not in the
    dead process. fsync, which blocks a whole gevent hub, runs at most every
    `sync_every` seconds and at `close`: a kernel crash or power loss may cost
    that much more. `close` writes what is left. Safe across threads. With
    `encode`, queued items are argument tuples that `encode(*item)` turns
    into a JSON line.
    """

    def __init__(
        self,
        path: Path,
        interval: float = FLUSH_INTERVAL,
        sync_every: float = SYNC_INTERVAL,
        encode: Callable[..., str] | None = None,
    ) -> None:
        self.path = path
        self.encode = encode
        self.interval = interval
        self.sync_every = sync_every
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._pending: deque[dict[str, Any] | str] = deque()
        # The hot path is one C call: queue a dict, or a line already encoded
        # as JSON (no newline); `flush` does the rest.
        self.append: Callable[[dict[str, Any] | str], None] = self._pending.append
        self._file_lock = threading.Lock()  # held while a batch is written
        self._synced = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"flush {path.name}", daemon=True)
        self._thread.start()

    def extend(self, records: Iterable[dict[str, Any] | str]) -> None:
        self._pending.extend(records)

    def flush(self, sync: bool = False) -> None:
        """Write and flush everything appended so far; fsync when due or asked."""
        with self._file_lock:
            if self._file.closed:
                return
            pending = self._pending
            batch = [pending.popleft() for _ in range(len(pending))]
            if batch:
                encode = self.encode
                self._file.write("".join(_line(encode(*r) if encode else r) for r in batch))
                self._file.flush()
            if sync or time.monotonic() - self._synced >= self.sync_every:
                os.fsync(self._file.fileno())
                self._synced = time.monotonic()

    def close(self) -> None:
        """Stop the flusher, write and fsync the rest; idempotent."""
        self._stop.set()
        self.flush(sync=True)
        with self._file_lock:
            self._file.close()

    def _run(self) -> None:
        while True:
            try:
                if self._stop.wait(self.interval):
                    return
                self.flush()
            except KeyboardInterrupt:
                # Under gevent a SIGINT surfaces in whichever greenlet runs; once it
                # was this one, which died while Locust ran on unrecorded for 15 s.
                # Stopping is the process's business: keep writing until `close`.
                continue


def _line(record: dict[str, Any] | str) -> str:
    text = record if isinstance(record, str) else json.dumps(record, separators=(",", ":"))
    return text + "\n"


@dataclass
class Records:
    """What a reader found in a JSON Lines file."""

    records: list[dict[str, Any]]
    torn: int = 0  # unparseable lines (at most the last one, after a crash)


def read(path: Path) -> Records:
    """Every record of a history or timeline file; a torn line is counted, not fatal."""
    found = Records([])
    if not path.exists():
        return found
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                found.records.append(json.loads(line))
            except json.JSONDecodeError:
                found.torn += 1
    return found


@dataclass
class Operation:
    """One operation as the history tells it."""

    id: str
    invoke: dict[str, Any]
    completion: dict[str, Any] | None = None

    @property
    def outcome(self) -> str:
        """ok / fail / info; an operation never completed (writer killed) counts as info."""
        return self.completion["type"] if self.completion else INFO


@dataclass
class Shape:
    """The operations of a history and every way in which it is malformed."""

    operations: dict[str, Operation] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)  # invoked, never completed
    problems: list[str] = field(default_factory=list)

    @property
    def well_formed(self) -> bool:
        return not self.problems

    def count(self, outcome: str) -> int:
        return sum(1 for op in self.operations.values() if op.outcome == outcome)


def operations(records: Iterable[dict[str, Any]], orders: bool = True) -> Shape:
    """Pair invokes with completions and say what does not fit.

    Malformed: a record without id or with an unknown type, a second invoke
    of one id, a completion without an earlier invoke, a second completion,
    an `ok` without an order id (for `orders`: checkouts and resubmits; a
    profile write acknowledges no order). An invoke with no completion is
    `pending`, not malformed: that is what a killed client leaves.
    """
    shape = Shape()
    for number, record in enumerate(records, start=1):
        kind, op_id = record.get("type"), record.get("id")
        if not isinstance(op_id, str) or kind not in (INVOKE, *COMPLETIONS):
            shape.problems.append(f"record {number}: needs a string id and a known type: {record}")
        elif kind == INVOKE:
            if op_id in shape.operations:
                shape.problems.append(f"record {number}: {op_id} invoked twice")
            else:
                shape.operations[op_id] = Operation(op_id, record)
        elif op_id not in shape.operations:
            shape.problems.append(f"record {number}: {kind} for {op_id} before any invoke")
        elif shape.operations[op_id].completion is not None:
            shape.problems.append(f"record {number}: {op_id} completed twice")
        else:
            if orders and kind == OK and not _order_id(record):
                shape.problems.append(f"record {number}: ok for {op_id} without an order id")
            shape.operations[op_id].completion = record
    shape.pending = [i for i, op in shape.operations.items() if op.completion is None]
    return shape


def acknowledged(shape: Shape) -> Iterator[tuple[str, str]]:
    """(key, order id) of every operation the service acknowledged.

    Order ids are opaque and compared as text: the shop's are integers, a
    service's may be UUIDs (a final read answers `id::text`).
    """
    for op in shape.operations.values():
        if op.completion is not None and op.completion["type"] == OK:
            yield op.id, str(_order_id(op.completion))


def _order_id(record: dict[str, Any]) -> Any:
    value = record.get("value")
    return value.get("order_id") if isinstance(value, dict) else None


# How one attempt of an operation ended, as far as the client can know.
APPLIED = "applied"  # 200/201 with an order id
NOT_APPLIED = "not_applied"  # a 4xx answer, or refused before the request left
UNKNOWN = "unknown"  # timeout, reset, 5xx: the shop may have committed it


def attempt_result(status: int, refused: bool = False) -> str:
    """Classify one HTTP attempt: `status` 0 means no answer came back.

    A 5xx is unknown, not a failure: the order may have been committed before
    the answer broke (the shop, the edge or the network can fail after it).
    """
    if refused:
        return NOT_APPLIED
    if status in (200, 201):
        return APPLIED
    if 400 <= status < 500:
        return NOT_APPLIED
    return UNKNOWN


def worth_retrying(status: int, refused: bool = False) -> bool:
    """Retry with the same key when the answer was unknown, refused or rate-limited."""
    return refused or status == 429 or attempt_result(status) == UNKNOWN


def settle(results: Iterable[str]) -> str:
    """The operation's completion from its attempts' results, in order.

    ok if any attempt was applied; fail only if every attempt was definitely
    not applied; otherwise info. One unknown attempt makes a later refusal
    unknown too: the earlier request may still commit.
    """
    seen = list(results)
    if APPLIED in seen:
        return OK
    if seen and all(result == NOT_APPLIED for result in seen):
        return FAIL
    return INFO
