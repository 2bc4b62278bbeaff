"""Up, down, failed boots and killed CLIs leave a clean machine.

Each test boots its own sandbox (while the shared one may be running: two
sandboxes coexist), so these are the slow ones.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sandbox_checks import processes_in_unnamed_namespaces, processes_mentioning

from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import lifecycle, network
from aftershock.sandbox.endpoints import writable
from aftershock.sandbox.options import SandboxOptions
from aftershock.sandbox.shell import run
from aftershock.sandbox.state import load_credentials

pytestmark = pytest.mark.sandbox

AFTERSHOCK = str(Path(sys.executable).with_name("aftershock"))


class BootInterrupted(Exception):
    """Raised from the progress callback to fail a boot half-way."""


def assert_no_trace(topology: Topology) -> None:
    """Nothing of the sandbox remains, by its own account and by the kernel's."""
    assert lifecycle.leftovers(topology) == []
    namespaces = run(["ip", "netns", "list"])
    assert not [line for line in namespaces.splitlines() if line.startswith(topology.name + "-")]
    assert topology.bridge not in network.existing_links()
    assert processes_mentioning(topology.state_dir) == []
    assert processes_in_unnamed_namespaces() == []
    assert "aftershock" not in run(["nft", "list", "ruleset"])


def test_two_sandboxes_coexist_and_down_removes_only_its_own(
    shared_sandbox: Topology, fresh_topology: Topology
) -> None:
    lifecycle.up(fresh_topology, SandboxOptions(replication="async"))
    for topology in (shared_sandbox, fresh_topology):
        assert writable(topology, load_credentials(topology))
    assert lifecycle.leftovers(fresh_topology)  # the check can see a sandbox
    lifecycle.down(fresh_topology)
    assert_no_trace(fresh_topology)
    assert writable(shared_sandbox, load_credentials(shared_sandbox))
    assert lifecycle.is_running(shared_sandbox)


def test_up_refuses_to_replace_a_running_sandbox(shared_sandbox: Topology) -> None:
    with pytest.raises(SandboxError, match="already up"):
        lifecycle.up(shared_sandbox)
    assert lifecycle.is_running(shared_sandbox)


def test_sigterm_during_up_tears_down(fresh_topology: Topology) -> None:
    cli = subprocess.Popen(
        [AFTERSHOCK, "sandbox", "up", "--name", fresh_topology.name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until_registered(fresh_topology, "patroni-taiwan", cli)
    cli.send_signal(signal.SIGTERM)
    _, stderr = cli.communicate(timeout=30)
    assert cli.returncode == 130, stderr
    assert "torn down" in stderr
    assert_no_trace(fresh_topology)


def test_down_is_idempotent(fresh_topology: Topology) -> None:
    assert lifecycle.down(fresh_topology) == []
    assert lifecycle.down(fresh_topology) == []
    assert_no_trace(fresh_topology)


def test_a_boot_that_fails_half_way_tears_down_what_it_started(
    fresh_topology: Topology,
) -> None:
    def fail_once_patroni_runs(component: str, message: str) -> None:
        if component == "patroni-taiwan" and message.startswith("started"):
            raise BootInterrupted("simulated failure half-way through the boot")

    with pytest.raises(BootInterrupted):
        lifecycle.up(fresh_topology, report=fail_once_patroni_runs)
    assert_no_trace(fresh_topology)


def test_sigkilled_cli_during_up_is_cleaned_by_reap(
    shared_sandbox: Topology, fresh_topology: Topology
) -> None:
    name = fresh_topology.name
    cli = subprocess.Popen(
        [AFTERSHOCK, "sandbox", "up", "--name", name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_until_registered(fresh_topology, "patroni-taiwan", cli)
    os.kill(cli.pid, signal.SIGKILL)
    cli.wait()
    # The kill left a half-booted sandbox behind: the reaper has work to do.
    assert lifecycle.leftovers(fresh_topology)

    reap = subprocess.run([AFTERSHOCK, "sandbox", "reap"], capture_output=True, text=True)
    assert reap.returncode == 0, reap.stderr
    assert f"reaped {name}" in reap.stdout
    assert_no_trace(fresh_topology)
    # A sandbox that is up is someone's: a reap that does not name it leaves it.
    assert f"skipped {shared_sandbox.name}: it is up" in reap.stdout
    assert lifecycle.is_running(shared_sandbox)


def test_next_up_reaps_what_a_killed_run_left(fresh_topology: Topology) -> None:
    fresh_topology.state_dir.mkdir(parents=True)
    network.create(fresh_topology)  # as if a killed `up` got this far
    lifecycle.up(fresh_topology, SandboxOptions(replication="async"))
    try:
        assert network.owned_namespaces(fresh_topology) == sorted(fresh_topology.namespaces())
    finally:
        lifecycle.down(fresh_topology)
    assert_no_trace(fresh_topology)


def _wait_until_registered(topology: Topology, daemon: str, cli: subprocess.Popen) -> None:
    """Wait until the booting CLI has started `daemon` (it is in the registry)."""
    registry = topology.state_dir / "processes.json"
    deadline = time.monotonic() + 30
    while daemon not in _registered(registry):
        assert cli.poll() is None, "the CLI ended early"
        assert time.monotonic() < deadline, f"{daemon} never started"
        time.sleep(0.05)


def _registered(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
