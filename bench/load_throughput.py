"""What the locustfile can drive, and what recording the history costs it.

    .venv/bin/python bench/load_throughput.py [--seconds 10] [--users 50] [--rounds 3]

Against a static endpoint (HAProxy answering every route from memory, pinned
to core 0), with the client pinned to core 1:

1. wrk (one thread, `--users` connections) and the locustfile's shoppers
   (FastHttpUser, no think time, no recording): requests/s and their ratio.
2. Recording cost: the plain locustfile and the recording one (history +
   timeline, written every 50 ms) run *at the same time on the same core*
   over the same window, `--rounds` times, alternated with A/A co-runs of two
   plain clients; the cost is one minus the ratio of the two medians.
   Sequential runs swing by a quarter on this shared host and could not
   resolve a few per cent.
3. Distributed: `--processes 2` (master + 2 workers, records shipped to the
   master) against one recording process, both unpinned, alternated
   `--rounds` times (they cannot share the cores): the median ratio.

Prints one line per figure; nothing here asserts, the figures go in notes.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHOP = Path(__file__).resolve().parents[1] / "aftershock" / "services" / "shop"
LOCUSTFILE = SHOP / "locustfile.py"
PORT = 18999

HAPROXY_CFG = """
global
    nbthread 1
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 1s
frontend static
    bind 127.0.0.1:{port}
    http-request return status 201 content-type application/json string "{{\\"order_id\\":1,\\"region\\":\\"bench\\"}}" if {{ path /orders }}
    http-request return status 200 content-type application/json string "{{\\"items\\":[]}}"
"""  # noqa: E501


def start_static_endpoint(workdir: Path) -> subprocess.Popen[bytes]:
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(port=PORT))
    process = subprocess.Popen(
        ["taskset", "-c", "0", "haproxy", "-db", "-f", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "haproxy.log").open("w"),
        start_new_session=True,
    )
    time.sleep(0.5)
    if process.poll() is not None:
        sys.exit(f"haproxy did not start: {(workdir / 'haproxy.log').read_text()}")
    return process


def wrk(seconds: int, connections: int) -> float:
    done = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            f"http://127.0.0.1:{PORT}/products/1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]


def locust(
    workdir: Path,
    label: str,
    seconds: int,
    users: int,
    record: bool,
    cpu: str | None,
    processes: int = 1,
) -> subprocess.Popen[bytes]:
    run_dir = workdir / label
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        f"http://127.0.0.1:{PORT}",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--think-time",
        "0,0",
        "--only-summary",
        "--csv",
        str(run_dir / "locust"),
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "2",
    ]
    if record:
        command += ["--run-dir", str(run_dir)]
    if processes > 1:
        command += ["--processes", str(processes)]
    if cpu is not None:
        command = ["taskset", "-c", cpu, *command]
    run_dir.mkdir(parents=True)
    log = (run_dir / "out.log").open("w")
    return subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)


def requests(workdir: Path, label: str) -> int:
    with (workdir / label / "locust_stats.csv").open() as stats:
        for row in csv.DictReader(stats):
            if row["Name"] == "Aggregated":
                return int(row["Request Count"])
    raise RuntimeError(f"no aggregated row for {label}")


def finish(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.wait(timeout=120) != 0:
            sys.exit(f"locust exited with {process.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        sys.exit("this benchmark pins server and client to different cores: it needs two")
    with tempfile.TemporaryDirectory(prefix="aftershock-bench-") as tmp:
        workdir = Path(tmp)
        endpoint = start_static_endpoint(workdir)
        try:
            run(workdir, args.seconds, args.users, args.rounds)
        finally:
            os.killpg(endpoint.pid, signal.SIGTERM)
            endpoint.wait()


def run(workdir: Path, seconds: int, users: int, rounds: int) -> None:
    wrk_rps = wrk(seconds, users)
    plain = locust(workdir, "plain", seconds, users, record=False, cpu="1")
    finish(plain)
    locust_rps = requests(workdir, "plain") / seconds
    print(f"wrk, 1 core, {users} connections:      {wrk_rps:10.0f} req/s")
    print(
        f"locustfile (FastHttpUser), 1 core:     {locust_rps:10.0f} req/s"
        f"  = {locust_rps / wrk_rps:.3f}x wrk"
    )

    # Alternate A/B (plain vs recording) with A/A (plain vs plain) co-runs:
    # A/A shows how unequal two identical clients on one core already are,
    # which is the floor the A/B ratio must be read against.
    ratios: dict[bool, list[float]] = {True: [], False: []}
    for number in range(rounds):
        for record in (True, False):
            kind = "rec" if record else "plain2"
            a = locust(workdir, f"corun-plain-{kind}-{number}", seconds, users, False, "1")
            b = locust(workdir, f"corun-{kind}-{number}", seconds, users, record, "1")
            finish(a, b)
            first = requests(workdir, f"corun-plain-{kind}-{number}")
            second = requests(workdir, f"corun-{kind}-{number}")
            ratios[record].append(second / first)
            label = "recording" if record else "plain (A/A)"
            print(
                f"co-run {number + 1}: plain {first} vs {label} {second} requests"
                f"  -> {ratios[record][-1]:.3f}"
            )
    control = statistics.median(ratios[False])
    treated = statistics.median(ratios[True])
    print(
        f"A/A control median {control:.3f}, recording median {treated:.3f}: "
        f"recording cost {1 - treated / control:+.1%}  (target <= 3 %)"
    )

    scale = []
    for number in range(rounds):
        finish(locust(workdir, f"one-{number}", seconds, users, record=True, cpu=None))
        finish(locust(workdir, f"two-{number}", seconds, users, record=True, cpu=None, processes=2))
        one_count, two_count = (
            requests(workdir, f"one-{number}"),
            requests(workdir, f"two-{number}"),
        )
        scale.append(two_count / one_count)
        print(
            f"round {number + 1}: recording, 1 process {one_count / seconds:.0f} req/s; "
            f"master + 2 workers {two_count / seconds:.0f} req/s  = {scale[-1]:.2f}x"
        )
    print(
        f"2 workers vs 1 process (median of {rounds}): {statistics.median(scale):.2f}x"
        "  (target >= 1.7x)"
    )


if __name__ == "__main__":
    main()
