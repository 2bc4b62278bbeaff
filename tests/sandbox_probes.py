"""Observing a sandbox from outside, for the fault tests: reachability, transfers, wholeness."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aftershock.config.topology import Topology
from aftershock.errors import PreflightError
from aftershock.sandbox import preflight
from aftershock.targets.local.reset import diagnostics, edge_state, make_whole, rejoin, wait_for

__all__ = ["diagnostics", "edge_state", "make_whole", "rejoin", "require_sandbox_host", "wait_for"]

CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
except OSError:
    sys.exit(1)
"""

SINK = """
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
conn, _ = server.accept()
while conn.recv(65536):
    pass
conn.sendall(b"done")
"""

SEND = """
import socket, sys, time
payload = b"x" * int(sys.argv[3])
began = time.monotonic()
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
conn.sendall(payload)
conn.shutdown(socket.SHUT_WR)
assert conn.recv(4) == b"done"
print(time.monotonic() - began)
"""

TRANSFER_PORT = 9099


def in_namespace(topology: Topology, site: str | None, code: str, *args: str) -> list[str]:
    """The command that runs Python `code` inside `site`'s namespace (root namespace: None)."""
    prefix = ["ip", "netns", "exec", topology.netns(site)] if site else []
    return [*prefix, sys.executable, "-c", code, *args]


def reachable(topology: Topology, site: str | None, host: str, port: int, timeout=1.0) -> bool:
    """Can a TCP connection be opened from `site` (None: the root namespace) to host:port?"""
    command = in_namespace(topology, site, CONNECT, host, str(port), str(timeout))
    return subprocess.run(command, check=False, timeout=timeout + 10).returncode == 0


def transfer_seconds(topology: Topology, source: str, target: str, size: int) -> float:
    """Seconds to push `size` bytes over TCP from `source`'s namespace to `target`'s."""
    address = topology.address(target)
    sink = subprocess.Popen(
        in_namespace(topology, target, SINK, address, str(TRANSFER_PORT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        assert sink.stdout.readline().strip() == "listening"
        sent = subprocess.run(
            in_namespace(topology, source, SEND, address, str(TRANSFER_PORT), str(size)),
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return float(sent.stdout.strip())
    finally:
        sink.kill()
        sink.wait()


def require_sandbox_host() -> None:
    """Fail (not skip) when the machine cannot run a sandbox: a skip would hide it."""
    try:
        preflight.check_all()
    except PreflightError as exc:
        pytest.fail(f"{exc} (or deselect with -m 'not sandbox')", pytrace=False)
