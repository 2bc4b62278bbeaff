"""The example service (examples/services/orders-api, Node.js) against its own contract.

Run the way its contract says, with a throwaway PostgreSQL in place of the
sandbox's, and driven by its own locustfile on the recording API: its final
reads answer in their shapes and account for every acknowledged purchase,
and its planted bug (`ORDERS_API_BUG=no-dedupe`) shows as keys held twice.
The sandbox runs of the same service are the game-day tests' business.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from aftershock.config.service_contract import load_contract
from aftershock.config.service_reads import check_shape
from aftershock.load import history

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "examples" / "services" / "orders-api" / "service.yaml"
PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (CONTRACT.parent / "node_modules").is_dir(),
    reason="the example service needs Node.js and its npm packages (make deps installs them)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A PostgreSQL of its own with the service's role, database and schema applied."""
    # Not under pytest's tmp: its root-only parent keeps the postgres user out.
    home = Path(tempfile.mkdtemp(prefix="aftershock-orders-pg-"))
    shutil.chown(home, "postgres")
    port = free_port()
    as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
    subprocess.run([*as_postgres, PG_BIN / "initdb", "-D", home / "data", "-A", "trust",
                    "-U", "postgres"], check=True, capture_output=True)  # fmt: skip
    subprocess.run([*as_postgres, PG_BIN / "pg_ctl", "-D", home / "data", "-w", "-l",
                    home / "log", "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1",
                    "start"], check=True, capture_output=True)  # fmt: skip
    contract = load_contract(CONTRACT)
    try:
        admin = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE ROLE orders_api LOGIN PASSWORD 'example'")
            conn.execute(f"CREATE DATABASE {contract.database} OWNER orders_api")
        dsn = f"host=127.0.0.1 port={port} user=orders_api password=example dbname=orders"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for path in contract.schema_files:
                conn.execute(path.read_text())
        yield dsn
    finally:
        subprocess.run([*as_postgres, PG_BIN / "pg_ctl", "-D", home / "data", "-m", "immediate",
                        "stop"], check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


def start_service(dsn: str, bug: str = "") -> tuple[subprocess.Popen[bytes], str]:
    """The service as its contract starts it, on this machine's loopback."""
    contract = load_contract(CONTRACT)
    params = dict(part.split("=", 1) for part in dsn.split())
    port = free_port()
    values = {"region": "taiwan", "listen_host": "127.0.0.1", "listen_port": str(port),
              "pg_host": params["host"], "pg_port": params["port"], "pg_database": params["dbname"],
              "pg_user": params["user"], "service_dir": str(contract.folder)}  # fmt: skip
    env = {name: value.format_map(values) for name, value in contract.service.env.items()
           if "{pg_password_file}" not in value}  # fmt: skip
    env |= {"PATH": os.environ["PATH"], "ORDERS_API_DB_PASSWORD": params["password"]}
    env["ORDERS_API_BUG"] = bug
    argv = [part.format_map(values) for part in contract.service.command]
    service = subprocess.Popen(argv, env=env, cwd=contract.folder, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _status(url + contract.readiness.path) in contract.readiness.statuses:
            return service, url
        time.sleep(0.2)
    service.kill()
    raise AssertionError(f"orders-api never became ready: {service.communicate()[0][-800:]!r}")


def _status(url: str) -> int:
    """The HTTP status `url` answers, 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own loopback
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)
    except OSError:
        return 0


def run_load(url: str, run_dir: Path, run_id: str) -> history.Shape:
    contract = load_contract(CONTRACT)
    run_dir.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(contract.locustfile), "--headless",
         "--host", url, "-u", "6", "-r", "6", "-t", "4s", "--stop-timeout", "3",
         "--only-summary", "--exit-code-on-error", "0", "--run-dir", str(run_dir),
         "--think-time", "0.02,0.05", "--run-id", run_id, "--resubmit-share", "0.5",
         "--task-weights", "list=1,product=1,checkout=4,profile=1"],
        capture_output=True, text=True, timeout=60, cwd=contract.folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-1500:]
    return history.operations(history.read(run_dir / history.HISTORY_FILE).records)


def reads(dsn: str, prefix: str) -> dict[str, list[tuple]]:
    """Every final read the contract declares, each checked against its shape."""
    contract = load_contract(CONTRACT)
    found = {}
    with psycopg.connect(dsn) as conn:
        for name, query in contract.reads.items():
            cursor = conn.execute(query, {"prefix": prefix})
            check_shape(contract.name, name, [c.name for c in cursor.description or []])
            found[name] = cursor.fetchall()
    return found


def stop(service: subprocess.Popen[bytes]) -> None:
    os.killpg(service.pid, 15)
    service.wait(timeout=10)


def test_the_example_keeps_every_acknowledged_purchase_once(database: str, tmp_path: Path) -> None:
    service, url = start_service(database)
    try:
        shape = run_load(url, tmp_path / "run", "exok")
    finally:
        stop(service)
    assert shape.well_formed, shape.problems[:3]
    acknowledged = dict(history.acknowledged(shape))
    assert len(acknowledged) > 20
    found = reads(database, "exok-")
    held = Counter(key for key, _ in found["acknowledged_orders"])
    assert set(acknowledged) <= set(held), "an acknowledged purchase is missing"
    assert [k for k, n in held.items() if n > 1] == [], "a request id made two purchases"
    by_key = dict(found["acknowledged_orders"])
    assert all(by_key[key] == order for key, order in acknowledged.items())
    assert all(stocked - left == sold for _, stocked, left, sold in found["stock"])
    assert found["registers"], "the renames are in the registers read"


def test_the_planted_bug_makes_a_second_purchase_for_a_resent_request(
    database: str, tmp_path: Path
) -> None:
    service, url = start_service(database, bug="no-dedupe")
    try:
        run_load(url, tmp_path / "run", "exbug")
    finally:
        stop(service)
    held = Counter(key for key, _ in reads(database, "exbug-")["acknowledged_orders"])
    assert [k for k, n in held.items() if n > 1], "no-dedupe left every request id once"


AFTERSHOCK = Path(sys.executable).parent / "aftershock"


def contract_copy(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """orders-api's contract in `tmp_path`, beside copies of its files, changed by `edit`."""
    for name in ("schema.sql", "locustfile.py", "server.js"):
        shutil.copy(CONTRACT.parent / name, tmp_path / name)
    doc = yaml.safe_load(CONTRACT.read_text())
    edit(doc)
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def service_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AFTERSHOCK, "service", "check", *args], capture_output=True, text=True)


def test_service_check_runs_every_declared_read_on_the_database(database: str) -> None:
    done = service_check(str(CONTRACT), "--dsn", database)
    assert done.returncode == 0, done.stderr
    assert "read outbox: not judged: the service declares no outbox query" in done.stdout
    assert "every declared read ran on the database and answered in its shape" in done.stdout


def test_service_check_names_a_read_of_the_wrong_shape_and_exits_3(
    database: str, tmp_path: Path
) -> None:
    def swap(doc: dict[str, Any]) -> None:
        doc["schema"]["reads"]["acknowledged_orders"] = (
            "SELECT id::text AS order_id, request_id AS key FROM purchase"
            " WHERE starts_with(request_id, %(prefix)s)"
        )

    done = service_check(str(contract_copy(tmp_path, swap)), "--dsn", database)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "schema.reads.acknowledged_orders answered columns (order_id, key)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_service_check_names_a_missing_command_and_an_unknown_placeholder_and_exits_2(
    tmp_path: Path,
) -> None:
    def break_it(doc: dict[str, Any]) -> None:
        del doc["sandbox"]["command"]
        doc["sandbox"]["env"]["ORDERS_API_DB_HOST"] = "{pg_hostname}"

    done = service_check(str(contract_copy(tmp_path, break_it)))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "sandbox.command: missing" in done.stderr
    assert "unknown placeholder {pg_hostname}" in done.stderr
    assert "Traceback" not in done.stderr
