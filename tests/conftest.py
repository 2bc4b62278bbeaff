"""Shared fixtures: one real sandbox for the tests that can share it."""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import Iterator

import pytest
from sandbox_probes import diagnostics, make_whole, require_sandbox_host

from aftershock.breakages import apply as breaking
from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import lifecycle

SHARED_SANDBOX = "tshared"


def shared_sandbox_name() -> str:
    """This process's shared sandbox: `tshared`, or `tshared<N>` for pytest-xdist's worker N>0.

    `make test` runs the tests that share a sandbox on two workers; each
    boots its own (another subnet), so neither sees the other's faults.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    return SHARED_SANDBOX if index == 0 else f"{SHARED_SANDBOX}{index}"


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Topology]:
    """A sync-replication sandbox booted once for every test that only reads or heals itself."""
    require_sandbox_host()
    topology = Topology(shared_sandbox_name())
    lifecycle.up(topology)
    try:
        yield topology
    finally:
        lifecycle.down(topology)


@pytest.fixture
def whole_sandbox(shared_sandbox: Topology) -> Iterator[Topology]:
    """The shared sandbox, made whole again after the test, or rebuilt when it cannot be.

    A test that leaves the sandbox broken fails its own teardown with the
    diagnostics attached; the sandbox is then booted afresh so one broken
    test costs one error, not an error in every test after it.
    """
    yield shared_sandbox
    try:
        breaking.undo_all(shared_sandbox)  # a breakage a test left is mended first
        make_whole(shared_sandbox)
    except (AssertionError, SandboxError) as exc:
        report = diagnostics(shared_sandbox)
        kept = lifecycle.keep_logs(shared_sandbox)
        lifecycle.down(shared_sandbox)
        lifecycle.up(shared_sandbox)
        pytest.fail(
            f"the sandbox was not whole after the test ({exc}); rebuilt it. "
            f"Logs kept in {kept}.\n{report}",
            pytrace=False,
        )


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
        # Logs a deliberately failed boot kept are this test's debris, not evidence.
        for kept in (topology.state_root / "failed-boots").glob(f"{name}-*"):
            shutil.rmtree(kept, ignore_errors=True)
