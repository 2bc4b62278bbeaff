"""The history format: durable batched writes, tolerant reads, and the well-formedness rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aftershock.load import history
from aftershock.load.history import (
    APPLIED,
    FAIL,
    INFO,
    NOT_APPLIED,
    OK,
    UNKNOWN,
    attempt_result,
    complete,
    invoke,
    operations,
    settle,
    worth_retrying,
)

# Appends a record stamped with the wall clock every millisecond until killed.
WRITER = """
import sys, time
from pathlib import Path
from aftershock.load.history import BatchWriter
writer = BatchWriter(Path(sys.argv[1]))
print("writing", flush=True)
n = 0
while True:
    n += 1
    writer.append({"t": time.time(), "n": n})
    time.sleep(0.001)
"""


def test_batch_writer_puts_records_on_disk_within_the_flush_interval(tmp_path: Path) -> None:
    writer = history.BatchWriter(tmp_path / "h.jsonl", interval=0.05)
    try:
        writer.append({"n": 1})
        deadline = time.monotonic() + 2
        while not history.read(tmp_path / "h.jsonl").records and time.monotonic() < deadline:
            time.sleep(0.01)
        assert history.read(tmp_path / "h.jsonl").records == [{"n": 1}]
    finally:
        writer.close()


def test_closing_the_writer_writes_the_rest_and_is_idempotent(tmp_path: Path) -> None:
    writer = history.BatchWriter(tmp_path / "h.jsonl", interval=60)
    writer.extend([{"n": 1}, {"n": 2}])
    writer.close()
    writer.close()
    assert [r["n"] for r in history.read(tmp_path / "h.jsonl").records] == [1, 2]


def test_an_interrupt_landing_in_the_flusher_does_not_stop_the_writing(tmp_path: Path) -> None:
    """Under gevent a SIGINT surfaces in whichever greenlet runs: once it was the flusher."""
    path = tmp_path / "history.jsonl"
    writer = history.BatchWriter(path, interval=0.01)
    real_flush = writer.flush
    interrupted = []

    def flush_once_interrupted(sync: bool = False) -> None:
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        real_flush(sync)

    writer.flush = flush_once_interrupted  # type: ignore[method-assign]
    time.sleep(0.1)
    writer.append({"id": "after-the-interrupt"})
    deadline = time.monotonic() + 2
    while "after-the-interrupt" not in path.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert interrupted
    assert "after-the-interrupt" in path.read_text(), "the flusher died with the interrupt"
    writer.close()


def test_a_torn_last_line_is_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"n": 1}\n{"n": 2}\n{"n": 3, "t')
    found = history.read(path)
    assert [r["n"] for r in found.records] == [1, 2]
    assert found.torn == 1


def test_a_sigkilled_writer_loses_at_most_the_flush_interval(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"writing"
        time.sleep(1.0)
        killed_at = time.time()
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
    found = history.read(path)
    assert found.torn <= 1
    numbers = [r["n"] for r in found.records]
    assert numbers == list(range(1, len(numbers) + 1)), "records lost or reordered mid-file"
    lost_window = killed_at - found.records[-1]["t"]
    assert lost_window <= history.LOSS_PROMISE, f"lost the last {lost_window:.3f} s"


def _op(kind: str, op_id: str, value: object = None) -> dict[str, object]:
    if kind == "invoke":
        return invoke(op_id, "p1", "checkout", value)
    return complete(kind, op_id, "p1", "checkout", value)


def test_a_complete_history_is_well_formed() -> None:
    shape = operations(
        [
            _op("invoke", "a"),
            _op("invoke", "b"),
            _op(OK, "a", {"order_id": 7}),
            _op(INFO, "b", {"error": "timeout"}),
        ]
    )
    assert shape.well_formed, shape.problems
    assert shape.pending == []
    assert (shape.count(OK), shape.count(INFO)) == (1, 1)
    assert list(history.acknowledged(shape)) == [("a", "7")]  # opaque ids, as text


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        ([_op(OK, "a", {"order_id": 1})], "before any invoke"),
        ([_op("invoke", "a"), _op("invoke", "a")], "invoked twice"),
        ([_op("invoke", "a"), _op(FAIL, "a"), _op(INFO, "a")], "completed twice"),
        ([_op("invoke", "a"), _op(OK, "a", {"status": 201})], "without an order id"),
        ([{"type": "invoke"}], "needs a string id"),
        ([{"type": "maybe", "id": "a"}], "known type"),
    ],
)
def test_every_malformation_is_named(records: list[dict[str, object]], problem: str) -> None:
    shape = operations(records)
    assert not shape.well_formed
    assert problem in " ".join(shape.problems)


def test_an_operation_never_completed_is_pending_and_counts_as_info() -> None:
    shape = operations([_op("invoke", "a")])
    assert shape.well_formed
    assert shape.pending == ["a"]
    assert shape.count(INFO) == 1


@pytest.mark.parametrize(
    ("status", "refused", "result", "retry"),
    [
        (201, False, APPLIED, False),
        (200, False, APPLIED, False),
        (409, False, NOT_APPLIED, False),
        (422, False, NOT_APPLIED, False),
        (429, False, NOT_APPLIED, True),
        (0, True, NOT_APPLIED, True),
        (0, False, UNKNOWN, True),
        (503, False, UNKNOWN, True),
        (500, False, UNKNOWN, True),
    ],
)
def test_attempts_are_classified_as_the_client_can_know(
    status: int, refused: bool, result: str, retry: bool
) -> None:
    assert attempt_result(status, refused) == result
    assert worth_retrying(status, refused) is retry


@pytest.mark.parametrize(
    ("attempts", "outcome"),
    [
        ([APPLIED], OK),
        ([UNKNOWN, APPLIED], OK),
        ([NOT_APPLIED], FAIL),
        ([NOT_APPLIED, NOT_APPLIED], FAIL),
        ([UNKNOWN], INFO),
        ([UNKNOWN, NOT_APPLIED], INFO),  # the timed-out attempt may still commit
        ([], INFO),  # killed before any attempt finished
    ],
)
def test_settle_never_calls_a_possibly_applied_operation_failed(
    attempts: list[str], outcome: str
) -> None:
    assert settle(attempts) == outcome


def test_records_are_one_json_object_per_line(tmp_path: Path) -> None:
    writer = history.BatchWriter(tmp_path / "h.jsonl")
    writer.append(_op("invoke", "a", {"items": [{"product_id": 1, "quantity": 1}]}))
    writer.close()
    lines = (tmp_path / "h.jsonl").read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["value"]["items"][0]["product_id"] == 1


def test_timeline_lines_are_valid_json_even_for_odd_strings(tmp_path: Path) -> None:
    line = history.request(1795433769.123456, "/orders", 201, 12.3456, 'tai"wan\n', None)
    assert json.loads(line) == {
        "t": 1795433769.1235, "route": "/orders", "status": 201, "ms": 12.35,
        "region": 'tai"wan\n', "geo": None, "answer": None,
    }  # fmt: skip
    served = history.request(1.0, "/orders", 201, 1.0, "tokyo", "JP", "served")
    assert json.loads(served)["answer"] == "served"
    writer = history.BatchWriter(tmp_path / "t.jsonl")
    writer.append(line)
    writer.append({"n": 1})
    writer.close()
    assert [r.get("route", r.get("n")) for r in history.read(tmp_path / "t.jsonl").records] == [
        "/orders",
        1,
    ]


def test_a_timeline_writer_encodes_queued_tuples_at_flush(tmp_path: Path) -> None:
    writer = history.BatchWriter(tmp_path / "t.jsonl", encode=history.request)
    writer.append((1.5, "/products", 0, 5000.0, None, "JP"))
    writer.append([2.5, "/orders", 503, 3.0, "tokyo", "JP"])  # as shipped from a worker
    writer.close()
    records = history.read(tmp_path / "t.jsonl").records
    assert [(r["route"], r["status"], r["region"]) for r in records] == [
        ("/products", 0, None),
        ("/orders", 503, "tokyo"),
    ]
