"""Shared fixtures: one real sandbox for the tests that can share it."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest

from aftershock.sandbox import lifecycle, preflight
from aftershock.sandbox.errors import PreflightError
from aftershock.sandbox.topology import Topology

SHARED_SANDBOX = "tshared"


def require_sandbox_host() -> None:
    """Fail (not skip) when the machine cannot run a sandbox: a skip would hide it."""
    try:
        preflight.check_all()
    except PreflightError as exc:
        pytest.fail(f"{exc} (or deselect with -m 'not sandbox')", pytrace=False)


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Topology]:
    """A sync-replication sandbox booted once for every test that only reads or heals itself."""
    require_sandbox_host()
    topology = Topology(SHARED_SANDBOX)
    lifecycle.up(topology)
    try:
        yield topology
    finally:
        lifecycle.down(topology)


@pytest.fixture
def fresh_topology(request: pytest.FixtureRequest) -> Iterator[Topology]:
    """A name for a sandbox the test boots itself; always reaped afterwards."""
    require_sandbox_host()
    name = "t" + format(zlib.crc32(request.node.nodeid.encode()), "08x")[:6]
    topology = Topology(name)
    lifecycle.reap(topology)
    try:
        yield topology
    finally:
        lifecycle.reap(topology)
