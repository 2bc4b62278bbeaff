"""Real Locust runs against the shared sandbox: the history they leave is complete and true.

The database is the judge: every `ok` in a history must be an order in the
orders table under the same Idempotency-Key, and every order a run created
must appear in its history.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from loads import fast_load, locust_running
from sandbox_probes import wait_for

from aftershock.check import checkers
from aftershock.config.topology import Topology
from aftershock.load import history
from aftershock.load.actions import start_load, stop_load
from aftershock.load.runner import LoadSettings, registry_path, running
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.state import load_credentials
from aftershock.targets.local import region

pytestmark = pytest.mark.sandbox


def run_to_end(settings: LoadSettings, state_root: Path) -> history.Shape:
    with locust_running(settings, registry_path(state_root, "load")) as (_, process):
        assert process.wait(timeout=settings.duration + 60) == 0, settings.run_dir / "locust.out"
    return history.operations(history.read(settings.run_dir / history.HISTORY_FILE).records)


def orders_of_run(sandbox: Topology, run_id: str) -> dict[str, tuple[int, float]]:
    """Idempotency key -> (order id, created at) of every order this run's keys made."""
    with connect(sandbox, load_credentials(sandbox), dbname="shop", timeout=5) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, id, EXTRACT(epoch FROM created_at)::float8 FROM orders"
            " WHERE idempotency_key LIKE %s",
            (run_id + "-%",),
        ).fetchall()
    return {key: (order_id, created) for key, order_id, created in rows}


def assert_acknowledged_orders_exist(shape: history.Shape, orders: dict[str, tuple[int, float]]):
    for key, order_id in history.acknowledged(shape):
        assert key in orders, f"ok {key} (order {order_id}) is not in the orders table"
        table = str(orders[key][0])  # order ids are opaque, compared as text
        assert table == order_id, f"ok {key} says order {order_id}, the table says {table}"


def locust_counts(run_dir: Path) -> dict[str, int]:
    with (run_dir / "locust_stats.csv").open() as stats:
        return {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(stats)}


def assert_timeline_matches_locust(timeline: list[dict[str, object]], settings: LoadSettings):
    """The timeline holds every request Locust counted, plus at most one in flight per user.

    Locust writes its final CSV while stopping users; a request that ends in
    that moment reaches the timeline but not the CSV.
    """
    counts = locust_counts(settings.run_dir)
    extra = len(timeline) - counts["Aggregated"]
    assert 0 <= extra <= settings.users, f"timeline {len(timeline)}, locust {counts}"
    orders = sum(1 for r in timeline if r["route"] == "/orders")
    assert 0 <= orders - counts["/orders"] <= settings.users


def test_short_run_history_is_well_formed_and_every_ok_is_an_order(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    settings = fast_load(whole_sandbox, tmp_path / "run")
    shape = run_to_end(settings, tmp_path)
    assert shape.well_formed, shape.problems[:5]
    assert shape.pending == []
    assert shape.count(history.OK) > 20
    orders = orders_of_run(whole_sandbox, settings.run_id)
    assert_acknowledged_orders_exist(shape, orders)
    assert set(orders) == {key for key, _ in history.acknowledged(shape)}
    timeline = history.read(tmp_path / "run" / history.TIMELINE_FILE).records
    assert_timeline_matches_locust(timeline, settings)
    assert {r["region"] for r in timeline} == {"taiwan", "tokyo"}


def test_isolating_taiwan_mid_run_gives_unknowns_and_no_unbacked_ok(
    whole_sandbox: Topology, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = fast_load(whole_sandbox, tmp_path / "run", duration=30.0)
    with locust_running(settings, registry_path(tmp_path, "load")) as (_, process):
        time.sleep(8)
        isolated_at = time.time()
        region.isolate_region(whole_sandbox, "taiwan")
        time.sleep(12)
        region.restore_region(whole_sandbox, "taiwan")
        restored_at = time.time()
        assert process.wait(timeout=90) == 0
    shape = history.operations(history.read(settings.run_dir / history.HISTORY_FILE).records)
    assert shape.well_formed, shape.problems[:5]
    troubled = [
        op for op in shape.operations.values()
        if op.outcome in (history.INFO, history.FAIL)
        and isolated_at - 1 <= op.invoke["t"] <= restored_at
    ]  # fmt: skip
    assert troubled, "no checkout noticed a region being cut off"
    orders = orders_of_run(whole_sandbox, settings.run_id)
    assert_acknowledged_orders_exist(shape, orders)
    records = history.read(settings.run_dir / history.HISTORY_FILE).records
    integrity = checkers.order_integrity(records, [(k, v[0]) for k, v in orders.items()])
    assert integrity.valid is True, integrity.reason
    timeline = history.read(settings.run_dir / history.TIMELINE_FILE).records
    rto = checkers.recovery_time(timeline, isolated_at)
    with capsys.disabled():
        print(
            f"\n[measured] taiwan isolated 12 s under load: ok {shape.count('ok')}, "
            f"info {shape.count('info')}, fail {shape.count('fail')}; "
            f"{len(troubled)} unknown/failed during the outage; every ok is an order; "
            f"customer-side recovery: {rto.reason} ({integrity.reason})"
        )


def test_a_sigkilled_locust_leaves_a_readable_history_missing_at_most_100_ms(
    whole_sandbox: Topology, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = fast_load(whole_sandbox, tmp_path / "run", duration=60.0)
    path = settings.run_dir / history.HISTORY_FILE
    with locust_running(settings, registry_path(tmp_path, "load")) as (run, _):
        wait_for(lambda: history.operations(history.read(path).records).count("ok") > 50,
                 timeout=30, what="load under way")  # fmt: skip
        killed_at = time.time()
        os.kill(run.pid, signal.SIGKILL)
    found = history.read(path)
    assert found.torn <= 1
    shape = history.operations(found.records)
    assert shape.well_formed, shape.problems[:5]
    assert killed_at - found.records[-1]["t"] <= history.LOSS_PROMISE
    # Every order the database took before the last 100 ms was invoked
    # earlier still: its invoke must be on disk.
    orders = orders_of_run(whole_sandbox, settings.run_id)
    settled = {k for k, (_, at) in orders.items() if at < killed_at - history.LOSS_PROMISE}
    missing = settled - set(shape.operations)
    assert not missing, f"{len(missing)} orders made before the kill have no invoke on disk"
    assert_acknowledged_orders_exist(shape, orders)
    gap_ms = 1000 * (killed_at - found.records[-1]["t"])
    with capsys.disabled():
        print(
            f"\n[measured] SIGKILL: last record {gap_ms:.0f} ms "
            f"before the kill, {len(shape.pending)} checkouts in flight, torn lines {found.torn}"
        )


def test_two_processes_give_one_complete_history(whole_sandbox: Topology, tmp_path: Path) -> None:
    settings = fast_load(whole_sandbox, tmp_path / "run", processes=2, duration=10.0)
    shape = run_to_end(settings, tmp_path)
    assert shape.well_formed, shape.problems[:5]
    assert shape.pending == []
    workers = {op.invoke["process"] for op in shape.operations.values()}
    assert len(workers) > 2
    orders = orders_of_run(whole_sandbox, settings.run_id)
    assert set(orders) == {key for key, _ in history.acknowledged(shape)}
    timeline = history.read(settings.run_dir / history.TIMELINE_FILE).records
    assert_timeline_matches_locust(timeline, settings)


def test_spike_shape_changes_the_user_count(whole_sandbox: Topology, tmp_path: Path) -> None:
    settings = fast_load(whole_sandbox, tmp_path / "run", shape="spike", duration=15.0)
    run_to_end(settings, tmp_path)
    with (settings.run_dir / "locust_stats_history.csv").open() as rows:
        users = [int(r["User Count"]) for r in csv.DictReader(rows) if r["Name"] == "Aggregated"]
    assert max(users) == 20
    assert 5 in users  # a quarter of the peak before and after the spike


def test_start_load_runs_in_the_background_and_stop_load_is_safe_twice(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    config = {"aftershock_sandbox": whole_sandbox.name,
              "aftershock_state_root": str(whole_sandbox.state_root)}  # fmt: skip
    results: list[dict[str, object]] = []
    worker = threading.Thread(
        target=lambda: results.append(start_load(5, 5, "steady", 120, str(tmp_path / "r"), config))
    )
    worker.start()
    registry = registry_path(whole_sandbox.state_root, whole_sandbox.name)
    wait_for(lambda: running(registry) is not None, timeout=20, what="locust started")
    time.sleep(3)
    first = stop_load(config)
    worker.join(30)
    assert first["stopped"] is True
    assert stop_load(config) == {"stopped": False, "reason": "no load was running"}
    assert len(results) == 1
    assert results[0]["malformed"] == 0
    assert results[0]["requests"] > 0
    assert not registry.exists()


def test_a_load_the_harness_stops_records_every_order_it_placed(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    """SIGINT mid-run: Locust shuts down by itself and its history names every order it made.

    Once the interrupt landed in the history flusher: Locust ran on for 15 s
    until the SIGKILL, unrecorded, and its last orders were "unexpected".
    """
    from aftershock.load.runner import stop

    settings = fast_load(whole_sandbox, tmp_path / "run", duration=60.0)
    registry = registry_path(whole_sandbox.state_root, whole_sandbox.name)
    with locust_running(settings, registry) as (_, process):
        time.sleep(4)
        stopped = stop(registry)
        code = process.wait(timeout=30)
    assert stopped["sigkilled"] is False, "Locust did not stop on SIGINT"
    assert code == 0, (code, (settings.run_dir / "locust.out").read_text()[-2000:])
    records = history.read(settings.run_dir / history.HISTORY_FILE).records
    shape = history.operations(records)
    placed = orders_of_run(whole_sandbox, settings.run_id)
    assert_acknowledged_orders_exist(shape, placed)
    invoked = set(shape.operations)
    assert set(placed) <= invoked, f"orders nobody invoked: {sorted(set(placed) - invoked)[:5]}"


def test_the_web_ui_mode_records_the_same_history(whole_sandbox: Topology, tmp_path: Path) -> None:
    """Locust's web UI (not --headless), started at once as an operator would from the UI."""
    settings = fast_load(whole_sandbox, tmp_path / "run", duration=8.0)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [word for word in settings.command() if word != "--headless"]
    command += [
        "--autostart",
        "--autoquit",
        "1",
        "--web-host",
        "127.0.0.1",
        "--web-port",
        str(port),
    ]
    with (settings.run_dir / "locust.out").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: ui_answers(port), timeout=30, what="Locust's web UI")
        assert process.wait(timeout=settings.duration + 60) == 0, settings.run_dir / "locust.out"
    finally:
        if process.poll() is None:
            process.kill()
    shape = history.operations(history.read(settings.run_dir / history.HISTORY_FILE).records)
    assert shape.well_formed, shape.problems[:5]
    assert shape.count(history.OK) > 0
    assert_acknowledged_orders_exist(shape, orders_of_run(whole_sandbox, settings.run_id))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ui_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False
