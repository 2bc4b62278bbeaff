"""The event path's and the catalog cache's verdicts fail for the reason they name.

As in test_gate_verdicts.py: the gate runs in a subprocess on the shared
sandbox, the platform is broken on purpose once the load runs (outside the
fault ledger: the harness must find it, not remember it), and the gate
fails naming the verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_probes import wait_for
from test_gate_verdicts import ROOT, environment, gate_broken_under_load, journal, verdict_line

from aftershock.config.topology import CATALOG_PORT, Topology
from aftershock.load.runner import registry_path, running
from aftershock.sandbox import nft
from aftershock.sandbox.state import registry
from aftershock.targets.local import events as event_faults
from aftershock.targets.local.common import daemon_pid

pytestmark = pytest.mark.sandbox

BLOCK_TABLE = "aftershock_test_block"


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))


def test_a_consumer_that_stops_delivering_fails_the_total_queue_verdict(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    """Taiwan's fulfilment consumer frozen for good (no fault recorded): deliveries go missing."""
    pid = daemon_pid(whole_sandbox, "fulfil-taiwan")
    assert pid is not None

    def freeze_the_consumer() -> None:
        os.killpg(pid, 19)  # SIGSTOP

    try:
        code, text = gate_broken_under_load(
            whole_sandbox, "event-mirror-outage", tmp_path, freeze_the_consumer
        )
    finally:
        os.killpg(pid, 18)  # SIGCONT
    assert code == 1, text
    line = verdict_line(text, "every-acknowledged-order-has-one-event-everywhere")
    assert "lost" in line, line
    [queue] = [
        v for v in journal(tmp_path, "event-mirror-outage")["aftershock_verdicts"]
        if v["name"] == "every-acknowledged-order-has-one-event-everywhere"
    ]  # fmt: skip
    taiwan = queue["output"]["regions"]["taiwan"]
    assert taiwan["undelivered"]["count"] > 0, taiwan
    assert queue["output"]["regions"]["tokyo"]["undelivered"]["count"] == 0
    # The events themselves are all there: only delivery failed, and the verdict says which.
    assert taiwan["lost_events"]["count"] == 0, taiwan


def test_a_relay_that_never_publishes_fails_the_drain_verdict(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    """Taiwan's relay killed outside the harness: the outbox is never drained after the heal."""
    budgets = tmp_path / "budgets.json"
    budgets.write_text(json.dumps({"aftershock_budgets": {"promise_drain_s": 10}}))
    command = [
        sys.executable, "-m", "pytest", "experiments", "-k", "event-mirror-outage",
        "--sandbox", whole_sandbox.name, "--reuse-sandbox", "--results", str(tmp_path / "r"),
        "-p", "no:cacheprovider", "--target-file", str(budgets),
    ]  # fmt: skip
    gate = subprocess.Popen(
        command, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    loads = registry_path(whole_sandbox.state_root, whole_sandbox.name)
    try:
        wait_for(lambda: running(loads) is not None, timeout=120, what="the load running")
        relay = registry(whole_sandbox).load()["relay-taiwan"]
        os.killpg(relay.pid, 9)
        output, _ = gate.communicate(timeout=600)
    finally:
        if gate.poll() is None:
            gate.kill()
        event_faults.start_relay(whole_sandbox, "taiwan")
    text = output.decode(errors="replace")
    assert gate.returncode == 1, text
    line = verdict_line(text, "events-drained-within-the-promise")
    assert "not drained within 10 s" in line, line
    assert "outbox taiwan" in line, line


def test_a_shop_that_cannot_reach_the_new_cache_primary_fails_the_follow_verdict(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    """Taiwan's shop cut off from tokyo's catalog copy (only its own sockets): it cannot follow."""
    shop = daemon_pid(whole_sandbox, "shop-taiwan")
    assert shop is not None
    tokyo = whole_sandbox.address("tokyo")
    rules = f"""table inet {BLOCK_TABLE} {{
    chain output {{
        type filter hook output priority -100; policy accept;
        meta skuid {uid_of(shop)} ip daddr {tokyo} tcp dport {CATALOG_PORT} drop
    }}
}}
"""
    try:
        code, text = gate_broken_under_load(
            whole_sandbox, "cache-failover", tmp_path,
            lambda: nft.apply(whole_sandbox, "taiwan", rules),
        )  # fmt: skip
    finally:
        nft.delete_table(whole_sandbox, "taiwan", BLOCK_TABLE)
    assert code == 1, text
    line = verdict_line(text, "both-shops-follow-the-new-primary")
    assert "taiwan did not write to tokyo's copy" in line, line
