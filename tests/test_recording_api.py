"""The recording API (`aftershock.recording`): a locustfile for a service unlike the shop.

The service here is a stub with its own paths, field names, idempotency
header and UUID ids, and a real Locust runs a locustfile written the way
docs/service-contract.md tells a stranger to write one: its own example. The history and
timeline it leaves must be what the verdicts read for the shop.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aftershock.config.service_contract import load_contract
from aftershock.load import history

DOCS = Path(__file__).resolve().parents[1] / "docs" / "service-contract.md"


def documented_locustfile() -> str:
    """The example locustfile of docs/service-contract.md's recording API section, verbatim."""
    section = DOCS.read_text().split("## The recording API", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


class Purchases(BaseHTTPRequestHandler):
    """A service unlike the shop: X-Request-Id kept in a table of its own, UUID ids.

    Every third new request id first gets a 503 (the client must retry it
    with the same id); every fifth is sold out (409: refused, not served).
    """

    delay = 0.0  # seconds each purchase takes
    seen: dict[str, str]  # request id -> purchase id
    failed_once: set[str]
    lock: threading.Lock
    counter: list[int]

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any, region: str | None = "taiwan") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if region:
            self.send_header("X-Served-By", "tokyo" if self.headers["X-Geo"] == "JP" else region)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/catalog/items":
            self._answer(200, [{"sku": "A-1"}])
        else:
            self._answer(404, {"error": "no such item"})

    def do_PATCH(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(200, {"ok": True})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request_id = self.headers.get("X-Request-Id", "")
        time.sleep(self.delay)
        with self.lock:
            if request_id in self.seen:
                self._answer(200, {"purchaseId": self.seen[request_id]})
                return
            self.counter[0] += 1
            if self.counter[0] % 5 == 0:
                self._answer(409, {"error": "sold out"})
            elif self.counter[0] % 3 == 0 and request_id not in self.failed_once:
                self.failed_once.add(request_id)
                self._answer(503, {"error": "try again"})
            else:
                self.seen[request_id] = str(uuid.uuid4())
                self._answer(201, {"purchaseId": self.seen[request_id]})


def serve(delay: float = 0.0) -> Iterator[str]:
    state = {"seen": {}, "failed_once": set(), "lock": threading.Lock(), "counter": [0]}
    handler = type("Handler", (Purchases,), {**state, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def purchases() -> Iterator[str]:
    yield from serve()


@pytest.fixture
def slow_purchases() -> Iterator[str]:
    """Each purchase takes 0.8 s: a stopping Locust always has checkouts in flight."""
    yield from serve(delay=0.8)


def run_locust(
    locustfile: Path, host: str, run_dir: Path, *extra: str
) -> subprocess.CompletedProcess:
    run_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
         "-u", "6", "-r", "6", "-t", "4s", "--stop-timeout", "3", "--only-summary",
         "--exit-code-on-error", "0", "--run-dir", str(run_dir),
         "--think-time", "0.05,0.1", "--run-id", "rt1",
         "--task-weights", "list=1,checkout=3,profile=1", "--resubmit-share", "0.5", *extra],
        capture_output=True, text=True, timeout=60, cwd=locustfile.parent,
    )  # fmt: skip


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_locustfile_on_the_api_records_the_history_the_verdicts_read(
    tmp_path: Path, purchases: str
) -> None:
    """UUID order ids, retries under one key, refusals, resubmits and registers, all recorded."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(documented_locustfile())
    run_dir = tmp_path / "run"
    done = run_locust(locustfile, purchases, run_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (run_dir / history.BEGAN_FILE).is_file()

    shape = history.operations(lines(run_dir / history.HISTORY_FILE))
    assert shape.well_formed, shape.problems[:3]
    assert not shape.pending
    ok = [op.completion for op in shape.operations.values() if op.outcome == history.OK]
    assert ok
    assert all(uuid.UUID(c["value"]["order_id"]) for c in ok)
    assert all(op.id.startswith("rt1-") for op in shape.operations.values())
    assert any(c["value"]["attempts"] == 2 for c in ok), "a 503 was retried under its key"
    failed = [op for op in shape.operations.values() if op.outcome == history.FAIL]
    assert failed
    assert all(op.completion["value"]["status"] == 409 for op in failed)

    resubmits = history.operations(lines(run_dir / history.RESUBMITS_FILE))
    assert resubmits.well_formed
    assert resubmits.count(history.OK)
    for op in resubmits.operations.values():
        if op.outcome == history.OK:
            original = shape.operations[op.invoke["value"]["key"]].completion
            assert op.completion["value"]["order_id"] == original["value"]["order_id"]
    registers = history.operations(lines(run_dir / history.PROFILES_FILE), orders=False)
    assert registers.well_formed
    assert registers.count(history.OK)

    timeline = lines(run_dir / history.TIMELINE_FILE)
    answers = {(r["route"], r["answer"]) for r in timeline}
    assert ("/purchases", "served") in answers
    assert ("/purchases", "refused") in answers  # sold out: downtime for checkout
    assert ("/purchases", "no_answer") in answers  # the 503
    assert ("/catalog/items/[id]", "client_error") in answers  # the 404 it asked for
    assert ("/purchases (resubmit)", "served") in answers
    assert {r.get("geo") for r in timeline} == {"TW", "JP"}


def test_workers_send_their_last_completions_before_the_master_quits(
    tmp_path: Path, slow_purchases: str
) -> None:
    """With --processes 2 the master waited half a second for its workers' last records."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(documented_locustfile())
    run_dir = tmp_path / "run"
    done = run_locust(locustfile, slow_purchases, run_dir, "--processes", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    shape = history.operations(lines(run_dir / history.HISTORY_FILE))
    assert shape.well_formed, shape.problems[:3]
    assert {op.invoke["process"][:2] for op in shape.operations.values()} == {"tw", "jp"}
    assert shape.pending == [], f"{len(shape.pending)} of {len(shape.operations)} never completed"


def test_task_weights_that_leave_a_user_no_task_end_the_run_with_one_line(
    tmp_path: Path, purchases: str
) -> None:
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(documented_locustfile())
    done = run_locust(locustfile, purchases, tmp_path / "run", "--task-weights", "cart=1")
    assert done.returncode != 0
    assert "--task-weights gives TaiwanBuyer no task: weigh one of list, checkout, profile" in (
        done.stderr
    ), done.stderr[-1500:]
    assert "Traceback" not in done.stderr


def test_the_shops_locustfile_imports_only_the_public_recording_api() -> None:
    """The harness's own service gets nothing a user's locustfile cannot have."""
    locustfile = load_contract().locustfile
    tree = ast.parse(locustfile.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            if node.module == "aftershock.recording":
                names = {alias.name for alias in node.names}
                public = set(_public_names())
                assert names <= public, names - public
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    ours = {name for name in imported if name.split(".")[0] == "aftershock"}
    assert ours == {"aftershock.recording"}, ours


def _public_names() -> list[str]:
    """`aftershock.recording.__all__`, read from its source: importing it would start gevent."""
    source = Path(__file__).resolve().parents[1] / "aftershock" / "recording" / "__init__.py"
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise AssertionError("aftershock.recording has no __all__")
