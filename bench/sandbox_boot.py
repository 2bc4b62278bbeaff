"""Sandbox timings: cold boot, failover after isolating taiwan, rejoin, teardown.

    sudo .venv/bin/python bench/sandbox_boot.py [--runs 3] [--replication sync]

Each run boots a fresh sandbox, blackholes the taiwan namespace, waits for
a write through the edge's write endpoint to succeed on tokyo, heals, waits
for taiwan to rejoin as replica, and tears down. Writes are attempted by
several threads whose attempts overlap, so the first success after the
fault is seen within a fraction of a second even though a single attempt
may hang for its whole connect timeout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable

import psycopg

from aftershock.config.topology import Topology
from aftershock.sandbox import lifecycle, postgres
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.options import SandboxOptions
from aftershock.sandbox.state import load_credentials
from aftershock.targets.local.region import isolate_region, restore_region

TARGETS = {"boot": 15.0, "failover": 10.0, "teardown": 5.0}


def first_write(topology: Topology, since: float, workers: int = 6, limit: float = 120.0) -> float:
    """Seconds from `since` to the first write that succeeds through the write endpoint."""
    creds = load_credentials(topology)
    done = threading.Event()
    first: list[float] = []
    lock = threading.Lock()

    def attempt_forever() -> None:
        while not done.is_set() and time.monotonic() - since < limit:
            try:
                with connect(topology, creds, "write", timeout=2) as conn:
                    conn.execute("INSERT INTO bench_writes DEFAULT VALUES")
                with lock:
                    first.append(time.monotonic())
                done.set()
            except psycopg.Error:
                time.sleep(0.02)

    threads = [threading.Thread(target=attempt_forever, daemon=True) for _ in range(workers)]
    for i, thread in enumerate(threads):
        thread.start()
        time.sleep(0.25 / workers * (i > 0))  # stagger the attempts
    done.wait(limit)
    if not first:
        raise RuntimeError(f"no write succeeded within {limit:.0f} s")
    return min(first) - since


def wait_for(check: Callable[[], bool], limit: float = 120.0) -> float:
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > limit:
            raise RuntimeError(f"not true within {limit:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - began


def one_run(name: str, replication: str) -> dict[str, float]:
    topology = Topology(name)
    marks: dict[str, float] = {}
    began = time.monotonic()

    def report(component: str, message: str) -> None:
        if component == "write endpoint" and message.startswith("ready"):
            marks["boot"] = time.monotonic() - began

    lifecycle.up(topology, SandboxOptions(replication=replication), report=report)
    try:
        marks["boot_all_ready"] = time.monotonic() - began
        creds = load_credentials(topology)
        with connect(topology, creds) as conn:
            conn.execute("CREATE TABLE bench_writes (id bigserial PRIMARY KEY)")
        isolated = time.monotonic()
        isolate_region(topology, "taiwan")
        marks["failover"] = first_write(topology, isolated)
        restore_region(topology, "taiwan")
        marks["rejoin"] = wait_for(lambda: postgres.role_check(topology, "taiwan", "replica"))
    finally:
        stopping = time.monotonic()
        lifecycle.down(topology)
        marks["teardown"] = time.monotonic() - stopping
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replication", choices=["sync", "async"], default="sync")
    parser.add_argument("--name", default="bench")
    args = parser.parse_args()

    runs = []
    for i in range(args.runs):
        marks = one_run(args.name, args.replication)
        runs.append(marks)
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items()), flush=True)

    print(f"\n{args.runs} runs, replication={args.replication}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'measure':<16}{'median':>9}{'min':>9}{'max':>9}{'target':>9}{'median/target':>15}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        target = TARGETS.get(key)
        ratio = f"{statistics.median(values) / target:.2f}" if target else "-"
        print(
            f"{key:<16}{statistics.median(values):>8.2f}s{min(values):>8.2f}s{max(values):>8.2f}s"
            f"{(f'{target:.0f}s' if target else '-'):>9}{ratio:>15}"
        )
    print("\nboot = up() until the first write through the write endpoint succeeds;")
    print("boot_all_ready = until the tokyo replica is also streaming (sync: is the sync standby);")
    print("failover = taiwan blackholed (nftables) until a write succeeds again, on tokyo;")
    print("rejoin = heal until taiwan answers Patroni's /replica; teardown = down().")
    return 0


if __name__ == "__main__":
    sys.exit(main())
