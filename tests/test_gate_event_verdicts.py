"""The event path's and the catalog cache's verdicts fail for the reason they name.

As in test_gate_verdicts.py: the gate runs in a subprocess on the shared
sandbox, the platform is broken on purpose once the load runs (outside the
fault ledger: the harness must find it, not remember it), and the gate
fails naming the verdict.
"""

from __future__ import annotations

import json
import os
import signal
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


def test_a_stuck_relay_and_a_frozen_consumer_fail_the_drain_and_total_queue_verdicts(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    """Taiwan's relay killed and its consumer frozen outside the ledger, once the load runs.

    One gate run shows both verdicts failing for their own reason: the
    outbox is never drained after the heal (drain, within a 10 s budget a
    target file sets), and taiwan's deliveries and its orders' events go
    missing (total-queue, naming them per region).
    """
    budgets = tmp_path / "budgets.json"
    budgets.write_text(json.dumps({"aftershock_budgets": {"promise_drain_s": 10}}))
    command = [
        sys.executable, "-m", "pytest", "experiments", "-k", "event-mirror-outage",
        "--sandbox", whole_sandbox.name, "--reuse-sandbox", "--results", str(tmp_path),
        "-p", "no:cacheprovider", "--target-file", str(budgets),
    ]  # fmt: skip
    # Five seconds for the total-queue check after the load: what is missing stays missing.
    gate = subprocess.Popen(
        command, cwd=ROOT, env={**environment(), "AFTERSHOCK_QUEUE_DEADLINE_S": "5"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    loads = registry_path(whole_sandbox.state_root, whole_sandbox.name)
    consumer = daemon_pid(whole_sandbox, "fulfil-taiwan")
    assert consumer is not None
    try:
        wait_for(lambda: running(loads) is not None, timeout=120, what="the load running")
        os.killpg(registry(whole_sandbox).load()["relay-taiwan"].pid, signal.SIGKILL)
        os.killpg(consumer, signal.SIGSTOP)
        output, _ = gate.communicate(timeout=600)
    finally:
        if gate.poll() is None:
            gate.kill()
        os.killpg(consumer, signal.SIGCONT)
        event_faults.start_relay(whole_sandbox, "taiwan")
    text = output.decode(errors="replace")
    assert gate.returncode == 1, text
    drain = verdict_line(text, "events-drained-within-the-promise")
    assert "not drained within 10 s" in drain, drain
    assert "outbox taiwan" in drain, drain
    assert "lost" in verdict_line(text, "every-acknowledged-order-has-one-event-everywhere")
    [queue] = [
        v for v in journal(tmp_path, "event-mirror-outage")["aftershock_verdicts"]
        if v["name"] == "every-acknowledged-order-has-one-event-everywhere"
    ]  # fmt: skip
    assert queue["tolerance_met"] is False
    regions = queue["output"]["regions"]
    assert regions["taiwan"]["undelivered"]["count"] > 0, regions
    # Taiwan's orders never left its outbox: no region holds their events.
    assert regions["tokyo"]["lost_events"]["count"] > 0, regions
    assert regions["tokyo"]["undelivered"]["count"] == regions["tokyo"]["lost_events"]["count"]


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
