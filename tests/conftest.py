"""Shared fixtures: one real sandbox for the tests that can share it, one pool of breakage lanes."""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterator

import pytest
from breakage_runs import Case, Run, chosen, run_cases
from sandbox_probes import diagnostics, make_whole, require_sandbox_host

from aftershock.breakages import apply as breaking
from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import lifecycle

SHARED_SANDBOX = "tshared"


@pytest.fixture(scope="session")
def breakage_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Run]]:
    """Every breakage case of this session's modules, in one pool of lanes; runs by module.

    A module takes part when a selected test of it uses this fixture; its
    cases are its `BREAKAGE_CASES` (narrowed by AFTERSHOCK_BREAKAGE_CASES).
    One pool, not one per module: a module's last runs no longer leave
    lanes idle while the next module waits (CI's gate, drill and ADR-037
    runs took 18 min one module after another). The longest go first: the
    partition designs (they boot the multi-writer pair), then the drills.
    """
    require_sandbox_host()
    modules = {}
    for item in request.session.items:
        if "breakage_pool" in item.fixturenames and isinstance(item, pytest.Function):
            modules.setdefault(item.module.__name__, item.module)
    cases: dict[str, Case] = {}
    for module_name, module in modules.items():
        for name, case in chosen(module.BREAKAGE_CASES).items():
            cases[f"{module_name}-{name}"] = case

    def longest_first(named: tuple[str, Case]) -> tuple[bool, bool]:
        return not named[1].sandbox_options, named[1].run != "drill"

    runs = run_cases(dict(sorted(cases.items(), key=longest_first)), tmp_path_factory.mktemp, "bp")
    pooled: dict[str, dict[str, Run]] = {name: {} for name in modules}
    for module_name, module in modules.items():
        for name in chosen(module.BREAKAGE_CASES):
            pooled[module_name][name] = runs[f"{module_name}-{name}"]
    return pooled


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
